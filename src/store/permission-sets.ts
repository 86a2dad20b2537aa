import { BUILT_IN_SETS, type PermissionLevels } from '../domain/access-levels.ts';
import type { Db } from './database.ts';
import type { PermissionSetRow } from './schema.ts';
import { now } from './time.ts';

export async function listPermissionSets(db: Db, workspaceId: number): Promise<PermissionSetRow[]> {
  return db
    .selectFrom('permission_sets')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .execute();
}

export async function getPermissionSet(
  db: Db,
  workspaceId: number,
  id: number,
): Promise<PermissionSetRow | undefined> {
  return db
    .selectFrom('permission_sets')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function getPermissionSetsByIds(
  db: Db,
  ids: readonly number[],
): Promise<Map<number, PermissionSetRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('permission_sets')
    .selectAll()
    .where('id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export async function findBuiltInSet(
  db: Db,
  workspaceId: number,
  type: string,
): Promise<PermissionSetRow | undefined> {
  return db
    .selectFrom('permission_sets')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('type', '=', type)
    .orderBy('id')
    .executeTakeFirst();
}

export async function createPermissionSet(
  db: Db,
  s: { workspaceId: number; name: string; description: string; type: string; levels: PermissionLevels },
): Promise<PermissionSetRow> {
  return db
    .insertInto('permission_sets')
    .values({
      workspace_id: s.workspaceId,
      name: s.name,
      description: s.description,
      type: s.type,
      ...s.levels,
      create_date: now(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function createBuiltInSets(db: Db, workspaceId: number): Promise<void> {
  for (const set of BUILT_IN_SETS)
    await createPermissionSet(db, {
      workspaceId,
      name: set.name,
      description: '',
      type: set.type,
      levels: set.levels,
    });
}

export async function updatePermissionSet(
  db: Db,
  id: number,
  patch: Partial<Omit<PermissionSetRow, 'id' | 'workspace_id' | 'create_date' | 'type'>>,
): Promise<PermissionSetRow> {
  if (Object.keys(patch).length === 0)
    return db.selectFrom('permission_sets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return db
    .updateTable('permission_sets')
    .set(patch)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** How many project members and groups hold the set (a set in use cannot be deleted). */
export async function permissionSetUses(db: Db, id: number): Promise<number> {
  const a = await db
    .selectFrom('project_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('permission_set_id', '=', id)
    .executeTakeFirstOrThrow();
  const b = await db
    .selectFrom('project_groups')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('permission_set_id', '=', id)
    .executeTakeFirstOrThrow();
  return Number(a.n) + Number(b.n);
}

export async function deletePermissionSet(db: Db, id: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const table of ['workspace_members', 'member_groups'] as const)
      await trx
        .updateTable(table)
        .set({ auto_assign_to_new_projects: 0, auto_assign_permission_set_id: null })
        .where('auto_assign_permission_set_id', '=', id)
        .execute();
    await trx.deleteFrom('permission_sets').where('id', '=', id).execute();
  });
}
