import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './database.ts';
import { createBuiltInSets, findBuiltInSet } from './permission-sets.ts';
import { putProjectGroup, putProjectMember } from './project-team.ts';
import type { UserRow, WorkspaceMemberRow } from './schema.ts';
import { inTransaction, now } from './time.ts';
import { reusableArrayQuery, reusableQuery } from './reusable-query.ts';

/** A workspace member: the user and their membership row. */
export interface Member {
  user: UserRow;
  membership: WorkspaceMemberRow;
}

export async function getMembership(
  db: Db,
  workspaceId: number,
  userId: number,
): Promise<WorkspaceMemberRow | undefined> {
  return db
    .selectFrom('workspace_members')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

const adminsOf = reusableQuery(1, (db, workspaceId: number) =>
  db
    .selectFrom('workspace_members')
    .select('user_id')
    .where('workspace_id', '=', workspaceId)
    .where('admin', '=', 1),
);

/** Ids of the workspace's admin members (the owner is not necessarily among them). */
export async function workspaceAdminIds(db: Db, workspaceId: number): Promise<Set<number>> {
  return new Set((await adminsOf(db, workspaceId)).map((r) => r.user_id));
}

/** Every column of a user row, in the table's order; `satisfies` fails the build when the table gains one. */
const USER_COLUMNS = Object.keys({
  id: 1,
  name: 1,
  email: 1,
  admin: 1,
  create_date: 1,
  password_hash: 1,
} satisfies Record<keyof UserRow, 1>) as (keyof UserRow)[];

/** The users, each with whether they are an admin member of the workspace (one column after theirs). */
function usersWithRole(db: Db, workspaceId: number) {
  return db
    .selectFrom('users as u')
    .select(USER_COLUMNS.map((c) => `u.${c}` as const))
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('workspace_members as m')
            .select('m.user_id')
            .where('m.workspace_id', '=', workspaceId)
            .whereRef('m.user_id', '=', 'u.id')
            .where('m.admin', '=', 1),
        )
        .as('workspace_admin'),
    );
}

const userWithRole = reusableArrayQuery(2, (db, workspaceId: number, id: number) =>
  usersWithRole(db, workspaceId).where('u.id', '=', id),
);

/**
 * The users of these ids, and which of them are admin members of the workspace (what presentMember
 * needs of a list's creators), in one query rather than two.
 */
export async function usersInWorkspace(
  db: Db,
  workspaceId: number,
  ids: readonly number[],
): Promise<{ users: Map<number, UserRow>; admins: Set<number> }> {
  const unique = [...new Set(ids)];
  const rows =
    unique.length === 0
      ? []
      : unique.length === 1
        ? // A list's items mostly share one creator: a query compiled once.
          await userWithRole(db, workspaceId, unique[0]!)
        : (await usersWithRole(db, workspaceId).where('u.id', 'in', unique).execute()).map((r) =>
            Object.values(r),
          );
  const users = new Map<number, UserRow>();
  const admins = new Set<number>();
  for (const values of rows) {
    const user: Record<string, unknown> = {};
    for (let i = 0; i < USER_COLUMNS.length; i += 1) user[USER_COLUMNS[i]!] = values[i];
    users.set(user.id as number, user as unknown as UserRow);
    // 1/0 on SQLite, true/false on PostgreSQL.
    if (values[USER_COLUMNS.length]) admins.add(user.id as number);
  }
  return { users, admins };
}

/** Ids of the workspaces a user belongs to. */
export async function memberWorkspaceIds(db: Db, userId: number): Promise<Set<number>> {
  const rows = await db
    .selectFrom('workspace_members')
    .select('workspace_id')
    .where('user_id', '=', userId)
    .execute();
  return new Set(rows.map((r) => r.workspace_id));
}

export async function addMembership(
  db: Db,
  m: { workspaceId: number; userId: number; admin: boolean },
): Promise<WorkspaceMemberRow> {
  return db
    .insertInto('workspace_members')
    .values({
      workspace_id: m.workspaceId,
      user_id: m.userId,
      admin: m.admin ? 1 : 0,
      auto_assign_to_new_projects: 0,
      auto_assign_permission_set_id: null,
      create_date: now(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

function memberQuery(db: Db, workspaceId: number) {
  return db
    .selectFrom('workspace_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .selectAll('m')
    .select([
      'u.name',
      'u.email',
      'u.admin as user_admin',
      'u.create_date as user_create_date',
      'u.password_hash',
    ])
    .where('m.workspace_id', '=', workspaceId);
}

type MemberJoinRow = WorkspaceMemberRow & {
  name: string;
  email: string;
  user_admin: number;
  user_create_date: string;
  password_hash: string | null;
};

function toMember(r: MemberJoinRow): Member {
  return {
    user: {
      id: r.user_id,
      name: r.name,
      email: r.email,
      admin: r.user_admin,
      create_date: r.user_create_date,
      password_hash: r.password_hash,
    },
    membership: {
      workspace_id: r.workspace_id,
      user_id: r.user_id,
      admin: r.admin,
      auto_assign_to_new_projects: r.auto_assign_to_new_projects,
      auto_assign_permission_set_id: r.auto_assign_permission_set_id,
      create_date: r.create_date,
    },
  };
}

export async function listMembers(
  db: Db,
  workspaceId: number,
  page?: { limit: number; offset: number },
): Promise<Member[]> {
  let q = memberQuery(db, workspaceId).orderBy('m.user_id');
  if (page) q = q.limit(page.limit).offset(page.offset);
  return (await q.execute()).map(toMember);
}

export async function getMember(db: Db, workspaceId: number, userId: number): Promise<Member | undefined> {
  const row = await memberQuery(db, workspaceId).where('m.user_id', '=', userId).executeTakeFirst();
  return row ? toMember(row) : undefined;
}

export async function updateMembership(
  db: Db,
  workspaceId: number,
  userId: number,
  patch: Partial<
    Pick<WorkspaceMemberRow, 'admin' | 'auto_assign_to_new_projects' | 'auto_assign_permission_set_id'>
  >,
): Promise<void> {
  if (Object.keys(patch).length === 0) return;
  await db
    .updateTable('workspace_members')
    .set(patch)
    .where('workspace_id', '=', workspaceId)
    .where('user_id', '=', userId)
    .execute();
}

/** Removes a member from the workspace and from its projects and groups, in one transaction. */
export async function removeMember(db: Db, workspaceId: number, userId: number): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx
      .deleteFrom('project_members')
      .where('user_id', '=', userId)
      .where(
        'project_id',
        'in',
        trx.selectFrom('projects').select('id').where('workspace_id', '=', workspaceId),
      )
      .execute();
    await trx
      .deleteFrom('group_members')
      .where('user_id', '=', userId)
      .where(
        'group_id',
        'in',
        trx.selectFrom('member_groups').select('id').where('workspace_id', '=', workspaceId),
      )
      .execute();
    await trx
      .deleteFrom('workspace_members')
      .where('workspace_id', '=', workspaceId)
      .where('user_id', '=', userId)
      .execute();
  });
}

const hashLinkToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * A one-time token for setting the user's password, valid for `ttlHours`. Earlier links of the user stop
 * working, so only the newest link ever handed out can be used. Returns the clear token.
 */
export async function createPasswordLink(db: Db, userId: number, ttlHours = 72): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('password_links').where('user_id', '=', userId).execute();
    await trx
      .insertInto('password_links')
      .values({
        token_hash: hashLinkToken(token),
        user_id: userId,
        expires_at: new Date(Date.now() + ttlHours * 3600_000).toISOString(),
        create_date: now(),
      })
      .execute();
  });
  return token;
}

/** Consumes a password link: sets the password hash and deletes the link, atomically. False when invalid. */
export async function usePasswordLink(db: Db, token: string, passwordHash: string): Promise<UserRow | null> {
  return inTransaction(db, async (trx) => {
    const link = await trx
      .deleteFrom('password_links')
      .where('token_hash', '=', hashLinkToken(token))
      .returningAll()
      .executeTakeFirst();
    if (!link || Date.parse(link.expires_at) <= Date.now()) return null;
    return trx
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', link.user_id)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

/** A new workspace's team: its owner as admin member and the three built-in permission sets. */
export async function seedWorkspaceTeam(db: Db, workspaceId: number, ownerId: number): Promise<void> {
  await addMembership(db, { workspaceId, userId: ownerId, admin: true });
  await createBuiltInSets(db, workspaceId);
}

/**
 * A new project's team: its creator as project manager, and every member and group of the workspace that
 * asked to be assigned to new projects, with the permission set they chose.
 */
export async function seedProjectTeam(
  db: Db,
  project: { id: number; workspace_id: number; created_by: number },
): Promise<void> {
  const manager = await findBuiltInSet(db, project.workspace_id, 'PROJECT_MANAGER');
  if (manager) await putProjectMember(db, project.id, project.created_by, manager.id);
  const members = await db
    .selectFrom('workspace_members')
    .select(['user_id', 'auto_assign_permission_set_id'])
    .where('workspace_id', '=', project.workspace_id)
    .where('auto_assign_to_new_projects', '=', 1)
    .where('user_id', '!=', project.created_by)
    .execute();
  for (const m of members)
    if (m.auto_assign_permission_set_id !== null)
      await putProjectMember(db, project.id, m.user_id, m.auto_assign_permission_set_id);
  const groups = await db
    .selectFrom('member_groups')
    .select(['id', 'auto_assign_permission_set_id'])
    .where('workspace_id', '=', project.workspace_id)
    .where('auto_assign_to_new_projects', '=', 1)
    .execute();
  for (const g of groups)
    if (g.auto_assign_permission_set_id !== null)
      await putProjectGroup(db, project.id, g.id, g.auto_assign_permission_set_id);
}

/** Ids of the workspace's members. */
export async function memberIds(db: Db, workspaceId: number): Promise<Set<number>> {
  const rows = await db
    .selectFrom('workspace_members')
    .select('user_id')
    .where('workspace_id', '=', workspaceId)
    .execute();
  return new Set(rows.map((r) => r.user_id));
}
