import type { Db } from './database.ts';
import type { MemberGroupRow } from './schema.ts';
import { now } from './time.ts';

export async function listGroups(db: Db, workspaceId: number): Promise<MemberGroupRow[]> {
  return db
    .selectFrom('member_groups')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .execute();
}

export async function getGroup(db: Db, workspaceId: number, id: number): Promise<MemberGroupRow | undefined> {
  return db
    .selectFrom('member_groups')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export type GroupFields = Pick<
  MemberGroupRow,
  'name' | 'description' | 'auto_assign_to_new_projects' | 'auto_assign_permission_set_id'
>;

/** The workspace's groups among `ids`, by id. */
export async function listGroupsByIds(
  db: Db,
  workspaceId: number,
  ids: readonly number[],
): Promise<Map<number, MemberGroupRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('member_groups')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map((g) => [g.id, g]));
}

export async function createGroup(db: Db, workspaceId: number, g: GroupFields): Promise<MemberGroupRow> {
  return db
    .insertInto('member_groups')
    .values({ ...g, workspace_id: workspaceId, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateGroup(db: Db, id: number, patch: Partial<GroupFields>): Promise<MemberGroupRow> {
  if (Object.keys(patch).length === 0)
    return db.selectFrom('member_groups').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return db
    .updateTable('member_groups')
    .set(patch)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteGroup(db: Db, id: number): Promise<void> {
  await db.deleteFrom('member_groups').where('id', '=', id).execute();
}

export async function listGroupMembers(
  db: Db,
  groupId: number,
): Promise<{ user_id: number; status: string }[]> {
  return db
    .selectFrom('group_members')
    .select(['user_id', 'status'])
    .where('group_id', '=', groupId)
    .orderBy('user_id')
    .execute();
}

export async function getGroupMember(
  db: Db,
  groupId: number,
  userId: number,
): Promise<{ user_id: number; status: string } | undefined> {
  return db
    .selectFrom('group_members')
    .select(['user_id', 'status'])
    .where('group_id', '=', groupId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

export async function putGroupMember(db: Db, groupId: number, userId: number, status: string): Promise<void> {
  await db
    .insertInto('group_members')
    .values({ group_id: groupId, user_id: userId, status })
    .onConflict((oc) => oc.columns(['group_id', 'user_id']).doUpdateSet({ status }))
    .execute();
}

export async function removeGroupMember(db: Db, groupId: number, userId: number): Promise<void> {
  await db
    .deleteFrom('group_members')
    .where('group_id', '=', groupId)
    .where('user_id', '=', userId)
    .execute();
}

/** The groups of `workspaceId` the user belongs to (id and name). */
export function userGroups(
  db: Db,
  workspaceId: number,
  userId: number,
): Promise<{ id: number; name: string }[]> {
  return db
    .selectFrom('group_members as gm')
    .innerJoin('member_groups as g', 'g.id', 'gm.group_id')
    .select(['g.id', 'g.name'])
    .where('gm.user_id', '=', userId)
    .where('g.workspace_id', '=', workspaceId)
    .execute();
}
