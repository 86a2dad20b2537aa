import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './database.ts';
import { reusableQuery } from './reusable-query.ts';
import type { TokenRow, UserRow } from './schema.ts';
import { now, parseJson } from './time.ts';
import { getWorkspacesByIds } from './workspaces.ts';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A user by e-mail address; addresses are stored lower-case. */
export async function findUserByEmailAddress(db: Db, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('email', '=', email.trim().toLowerCase())
    .executeTakeFirst();
}

export async function createUser(
  db: Db,
  user: { name: string; email: string; admin: boolean },
): Promise<UserRow> {
  return db
    .insertInto('users')
    .values({
      name: user.name,
      email: user.email.trim().toLowerCase(),
      admin: user.admin ? 1 : 0,
      create_date: now(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

const userById = reusableQuery(1, (db, id: number) =>
  db.selectFrom('users').selectAll().where('id', '=', id),
);

export async function getUser(db: Db, id: number): Promise<UserRow | undefined> {
  return (await userById(db, id))[0];
}

export async function getUsers(db: Db, ids: number[]): Promise<Map<number, UserRow>> {
  if (ids.length === 0) return new Map();
  const unique = new Set(ids);
  if (unique.size === 1) {
    // A list's items mostly share one creator: a query compiled once.
    const [row] = await userById(db, ids[0]!);
    return new Map(row ? [[row.id, row]] : []);
  }
  const rows = await db
    .selectFrom('users')
    .selectAll()
    .where('id', 'in', [...unique])
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export async function firstAdmin(db: Db): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('admin', '=', 1).orderBy('id').executeTakeFirst();
}

export interface NewToken {
  userId: number;
  name: string;
  scopes: string[];
  ipRestrictions: string[];
  /** Ids of the workspaces the token may reach; empty means all. */
  workspaceRestrictions: number[];
  expiresAt: string | null;
}

/** Creates a token and returns its row with the clear token, which is shown once and stored only hashed. */
export async function createToken(db: Db, t: NewToken): Promise<{ row: TokenRow; token: string }> {
  const token = 'gty_' + randomBytes(24).toString('base64url');
  const row = await db
    .insertInto('tokens')
    .values({
      id: randomBytes(8).toString('hex'),
      user_id: t.userId,
      name: t.name,
      token_hash: hashToken(token),
      scopes: JSON.stringify(t.scopes),
      ip_restrictions: JSON.stringify(t.ipRestrictions),
      workspace_restrictions: JSON.stringify(t.workspaceRestrictions),
      expires_at: t.expiresAt,
      create_date: now(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { row, token };
}

export async function findTokenByValue(db: Db, token: string): Promise<TokenRow | undefined> {
  return db.selectFrom('tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
}

export async function findTokenById(db: Db, id: string): Promise<TokenRow | undefined> {
  return db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listTokens(db: Db, userId: number): Promise<TokenRow[]> {
  return db.selectFrom('tokens').selectAll().where('user_id', '=', userId).orderBy('create_date').execute();
}

export async function deleteToken(db: Db, userId: number, id: string): Promise<boolean> {
  const res = await db
    .deleteFrom('tokens')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Current domains of the workspaces a token is restricted to, or null when it is not restricted. A
 * restricted token whose workspaces are all gone gets an empty list: it reaches nothing, never everything.
 */
export async function tokenWorkspaceDomains(db: Db, token: TokenRow): Promise<string[] | null> {
  const ids = parseJson<number[]>(token.workspace_restrictions);
  if (ids.length === 0) return null;
  return (await getWorkspacesByIds(db, ids)).map((w) => w.domain);
}
