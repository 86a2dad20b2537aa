import type { Db } from './database.ts';
import { seedWorkspaceTeam } from './members.ts';
import type { WorkspaceRow } from './schema.ts';
import { inTransaction, now } from './time.ts';
import { reusableQuery } from './reusable-query.ts';

export async function listWorkspaces(db: Db): Promise<WorkspaceRow[]> {
  return db.selectFrom('workspaces').selectAll().orderBy('id').execute();
}

const workspaceByDomain = reusableQuery(1, (db, domain: string) =>
  db.selectFrom('workspaces').selectAll().where('domain', '=', domain),
);

export async function getWorkspace(db: Db, domain: string): Promise<WorkspaceRow | undefined> {
  return (await workspaceByDomain(db, domain))[0];
}

export async function createWorkspace(
  db: Db,
  w: { domain: string; name: string; ownerId: number; encryptionSalt: string | null },
): Promise<WorkspaceRow> {
  return inTransaction(db, async (trx) => {
    const ws = await trx
      .insertInto('workspaces')
      .values({
        domain: w.domain,
        name: w.name,
        owner_id: w.ownerId,
        frozen: 0,
        create_date: now(),
        encryption_salt: w.encryptionSalt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await seedWorkspaceTeam(trx, ws.id, w.ownerId);
    return ws;
  });
}

export async function updateWorkspace(
  db: Db,
  id: number,
  patch: { name?: string; domain?: string; encryption_salt?: string },
): Promise<WorkspaceRow> {
  return db
    .updateTable('workspaces')
    .set(patch)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteWorkspace(db: Db, id: number): Promise<void> {
  await db.deleteFrom('workspaces').where('id', '=', id).execute();
}

export async function getWorkspaceById(db: Db, id: number): Promise<WorkspaceRow | undefined> {
  return db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Workspaces by id; ids of deleted workspaces are simply absent. */
export async function getWorkspacesByIds(db: Db, ids: readonly number[]): Promise<WorkspaceRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('workspaces')
    .selectAll()
    .where('id', 'in', [...new Set(ids)])
    .orderBy('id')
    .execute();
}
