import type { Db } from './database.ts';

/** A project member or group with the id of the permission set it holds in the project. */
export interface ProjectGrant {
  id: number; // user id or group id
  permission_set_id: number;
}

export async function listProjectMembers(
  db: Db,
  projectId: number,
  page?: { limit: number; offset: number },
): Promise<ProjectGrant[]> {
  let q = db
    .selectFrom('project_members')
    .select(['user_id as id', 'permission_set_id'])
    .where('project_id', '=', projectId)
    .orderBy('user_id');
  if (page) q = q.limit(page.limit).offset(page.offset);
  return q.execute();
}

export async function getProjectMember(
  db: Db,
  projectId: number,
  userId: number,
): Promise<ProjectGrant | undefined> {
  return db
    .selectFrom('project_members')
    .select(['user_id as id', 'permission_set_id'])
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

export async function putProjectMember(
  db: Db,
  projectId: number,
  userId: number,
  setId: number,
): Promise<void> {
  await db
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: userId, permission_set_id: setId })
    .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ permission_set_id: setId }))
    .execute();
}

export async function removeProjectMember(db: Db, projectId: number, userId: number): Promise<void> {
  await db
    .deleteFrom('project_members')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .execute();
}

export async function listProjectGroups(
  db: Db,
  projectId: number,
  page?: { limit: number; offset: number },
): Promise<ProjectGrant[]> {
  let q = db
    .selectFrom('project_groups')
    .select(['group_id as id', 'permission_set_id'])
    .where('project_id', '=', projectId)
    .orderBy('group_id');
  if (page) q = q.limit(page.limit).offset(page.offset);
  return q.execute();
}

export async function getProjectGroup(
  db: Db,
  projectId: number,
  groupId: number,
): Promise<ProjectGrant | undefined> {
  return db
    .selectFrom('project_groups')
    .select(['group_id as id', 'permission_set_id'])
    .where('project_id', '=', projectId)
    .where('group_id', '=', groupId)
    .executeTakeFirst();
}

export async function putProjectGroup(
  db: Db,
  projectId: number,
  groupId: number,
  setId: number,
): Promise<void> {
  await db
    .insertInto('project_groups')
    .values({ project_id: projectId, group_id: groupId, permission_set_id: setId })
    .onConflict((oc) => oc.columns(['project_id', 'group_id']).doUpdateSet({ permission_set_id: setId }))
    .execute();
}

export async function removeProjectGroup(db: Db, projectId: number, groupId: number): Promise<void> {
  await db
    .deleteFrom('project_groups')
    .where('project_id', '=', projectId)
    .where('group_id', '=', groupId)
    .execute();
}

/**
 * Ids of the permission sets a user holds in each of the given projects: directly or through any of
 * their groups. A project missing from the map is one the user is not a member of.
 */
export async function projectSetsOfUser(
  db: Db,
  userId: number,
  groupIds: readonly number[],
  projectIds: readonly number[],
): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  if (projectIds.length === 0) return out;
  const add = (projectId: number, setId: number): void => {
    const list = out.get(projectId) ?? [];
    list.push(setId);
    out.set(projectId, list);
  };
  const direct = await db
    .selectFrom('project_members')
    .select(['project_id', 'permission_set_id'])
    .where('user_id', '=', userId)
    .where('project_id', 'in', [...projectIds])
    .execute();
  for (const r of direct) add(r.project_id, r.permission_set_id);
  if (groupIds.length > 0) {
    const viaGroups = await db
      .selectFrom('project_groups')
      .select(['project_id', 'permission_set_id'])
      .where('group_id', 'in', [...groupIds])
      .where('project_id', 'in', [...projectIds])
      .execute();
    for (const r of viaGroups) add(r.project_id, r.permission_set_id);
  }
  return out;
}
