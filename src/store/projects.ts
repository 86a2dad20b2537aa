import type { Insertable } from 'kysely';
import type { Db } from './database.ts';
import { seedProjectTeam } from './members.ts';
import type { ProjectRow, ProjectsTable } from './schema.ts';
import { inTransaction, now, parseJson } from './time.ts';
import { reusableQuery } from './reusable-query.ts';

/** Buddy's project fields that live in the `settings` JSON column, with Buddy's defaults. */
export interface ProjectSettings {
  access: 'PRIVATE' | 'PUBLIC';
  allow_pull_requests: boolean;
  fetch_submodules: boolean;
  fetch_submodules_env_key: string;
  update_default_branch_from_external: boolean;
  without_repository: boolean;
  external_project_id: string | null;
  git_lab_project_id: string | null;
  /** hash_id of the integration that gives access to an external repository. */
  integration_hash_id: string | null;
  /** Id of the SSH_KEY variable used to fetch `custom_repo_url`. */
  custom_repo_ssh_key_id: number | null;
}

export const PROJECT_DEFAULTS: ProjectSettings = {
  access: 'PRIVATE',
  allow_pull_requests: false,
  fetch_submodules: false,
  fetch_submodules_env_key: '',
  update_default_branch_from_external: true,
  without_repository: false,
  external_project_id: null,
  git_lab_project_id: null,
  integration_hash_id: null,
  custom_repo_ssh_key_id: null,
};

export function projectSettings(p: ProjectRow): ProjectSettings {
  return { ...PROJECT_DEFAULTS, ...parseJson<Partial<ProjectSettings>>(p.settings) };
}

export interface ProjectQuery {
  status?: string;
  sortBy: 'name' | 'create_date';
  sortDirection: 'ASC' | 'DESC';
  limit: number;
  offset: number;
  /** Only projects this user is a member of, directly or through one of these groups. */
  memberOf?: { userId: number; groupIds: readonly number[] };
}

export async function listProjects(
  db: Db,
  workspaceId: number,
  q: ProjectQuery,
): Promise<{ rows: ProjectRow[]; total: number }> {
  let base = db.selectFrom('projects').where('workspace_id', '=', workspaceId);
  if (q.status) base = base.where('status', '=', q.status);
  const memberOf = q.memberOf;
  if (memberOf)
    base = base.where((eb) =>
      eb.or([
        eb(
          'id',
          'in',
          eb.selectFrom('project_members').select('project_id').where('user_id', '=', memberOf.userId),
        ),
        ...(memberOf.groupIds.length > 0
          ? [
              eb(
                'id',
                'in',
                eb
                  .selectFrom('project_groups')
                  .select('project_id')
                  .where('group_id', 'in', [...memberOf.groupIds]),
              ),
            ]
          : []),
      ]),
    );
  const rows = await base
    .selectAll()
    .orderBy(q.sortBy, q.sortDirection === 'ASC' ? 'asc' : 'desc')
    .orderBy('id', 'asc')
    .limit(q.limit)
    .offset(q.offset)
    .execute();
  const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}

const projectByName = reusableQuery(2, (db, workspaceId: number, name: string) =>
  db.selectFrom('projects').selectAll().where('workspace_id', '=', workspaceId).where('name', '=', name),
);

export async function getProject(db: Db, workspaceId: number, name: string): Promise<ProjectRow | undefined> {
  return (await projectByName(db, workspaceId, name))[0];
}

export async function getProjectById(db: Db, id: number): Promise<ProjectRow | undefined> {
  return db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function projectNameTaken(db: Db, workspaceId: number, name: string): Promise<boolean> {
  return (await getProject(db, workspaceId, name)) !== undefined;
}

export type NewProject = Omit<Insertable<ProjectsTable>, 'id' | 'create_date' | 'status'>;

export async function createProject(db: Db, p: NewProject): Promise<ProjectRow> {
  return inTransaction(db, async (trx) => {
    const project = await trx
      .insertInto('projects')
      .values({ ...p, status: 'ACTIVE', create_date: now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    await seedProjectTeam(trx, project);
    return project;
  });
}

export async function updateProject(
  db: Db,
  id: number,
  patch: Partial<NewProject & { status: string }>,
): Promise<ProjectRow> {
  return db.updateTable('projects').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteProject(db: Db, id: number): Promise<void> {
  await db.deleteFrom('projects').where('id', '=', id).execute();
}

export async function listProjectIds(db: Db, workspaceId: number): Promise<number[]> {
  return (await db.selectFrom('projects').select('id').where('workspace_id', '=', workspaceId).execute()).map(
    (r) => r.id,
  );
}
