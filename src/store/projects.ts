import type { Db } from './database.ts';
import type { ProjectRow, ProjectsTable } from './schema.ts';
import { now } from './time.ts';

export interface ProjectQuery {
  status?: string;
  sortBy: 'name' | 'create_date';
  sortDirection: 'ASC' | 'DESC';
  limit: number;
  offset: number;
}

export async function listProjects(
  db: Db,
  workspaceId: number,
  q: ProjectQuery,
): Promise<{ rows: ProjectRow[]; total: number }> {
  let base = db.selectFrom('projects').where('workspace_id', '=', workspaceId);
  if (q.status) base = base.where('status', '=', q.status);
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

export async function getProject(db: Db, workspaceId: number, name: string): Promise<ProjectRow | undefined> {
  return db
    .selectFrom('projects')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .executeTakeFirst();
}

export async function getProjectById(db: Db, id: number): Promise<ProjectRow | undefined> {
  return db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function projectNameTaken(db: Db, workspaceId: number, name: string): Promise<boolean> {
  return (await getProject(db, workspaceId, name)) !== undefined;
}

export type NewProject = Omit<ProjectsTable, 'id' | 'create_date' | 'status'>;

export async function createProject(db: Db, p: NewProject): Promise<ProjectRow> {
  return db
    .insertInto('projects')
    .values({ ...p, status: 'ACTIVE', create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
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
