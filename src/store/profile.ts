import type { Db } from './database.ts';
import type { UserEmailRow, UserKeyRow, UserRow } from './schema.ts';
import { now } from './time.ts';

export async function renameUser(db: Db, id: number, name: string): Promise<UserRow> {
  return db.updateTable('users').set({ name }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** The addresses a user added besides the primary one (`users.email`). */
export async function listExtraEmails(db: Db, userId: number): Promise<UserEmailRow[]> {
  return db.selectFrom('user_emails').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

/** Whether any user has `email`, as primary or added address. */
export async function emailTaken(db: Db, email: string): Promise<boolean> {
  const primary = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  if (primary) return true;
  const extra = await db.selectFrom('user_emails').select('id').where('email', '=', email).executeTakeFirst();
  return extra !== undefined;
}

export async function addEmail(db: Db, userId: number, email: string): Promise<UserEmailRow> {
  return db
    .insertInto('user_emails')
    .values({ user_id: userId, email, confirmed: 0, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function removeEmail(db: Db, userId: number, email: string): Promise<boolean> {
  const res = await db
    .deleteFrom('user_emails')
    .where('user_id', '=', userId)
    .where('email', '=', email)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function addPublicKey(
  db: Db,
  userId: number,
  key: { title: string; content: string },
): Promise<UserKeyRow> {
  return db
    .insertInto('user_keys')
    .values({ user_id: userId, ...key, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listPublicKeys(db: Db, userId: number): Promise<UserKeyRow[]> {
  return db.selectFrom('user_keys').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

export async function getPublicKey(db: Db, userId: number, id: number): Promise<UserKeyRow | undefined> {
  return db
    .selectFrom('user_keys')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function deletePublicKey(db: Db, userId: number, id: number): Promise<boolean> {
  const res = await db
    .deleteFrom('user_keys')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}
