import type { Db } from './database.ts';
import type { EnvironmentRow, EnvironmentsTable } from './schema.ts';
import { now } from './time.ts';

export async function listEnvironments(db: Db, workspaceId: number, projectId?: number): Promise<EnvironmentRow[]> {
  let q = db.selectFrom('environments').selectAll().where('workspace_id', '=', workspaceId);
  if (projectId !== undefined) q = q.where((eb) => eb.or([eb('project_id', '=', projectId), eb('project_id', 'is', null)]));
  return q.orderBy('create_date').execute();
}

export async function getEnvironment(db: Db, workspaceId: number, id: string): Promise<EnvironmentRow | undefined> {
  return db.selectFrom('environments').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

/**
 * The environment an execution names by identifier: a project's own environment wins over a
 * workspace-wide one with the same identifier.
 */
export async function findEnvironmentForProject(db: Db, workspaceId: number, projectId: number, identifier: string): Promise<EnvironmentRow | undefined> {
  const rows = await db
    .selectFrom('environments')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('identifier', '=', identifier)
    .where((eb) => eb.or([eb('project_id', '=', projectId), eb('project_id', 'is', null)]))
    .execute();
  return rows.find((r) => r.project_id === projectId) ?? rows[0];
}

export async function identifierInUse(db: Db, workspaceId: number, projectId: number | null, identifier: string, exceptId?: string): Promise<boolean> {
  let q = db.selectFrom('environments').select('id').where('workspace_id', '=', workspaceId).where('identifier', '=', identifier);
  q = projectId === null ? q.where('project_id', 'is', null) : q.where('project_id', '=', projectId);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

export type NewEnvironment = Omit<EnvironmentsTable, 'create_date'>;

export async function createEnvironment(db: Db, e: NewEnvironment): Promise<EnvironmentRow> {
  return db.insertInto('environments').values({ ...e, create_date: now() }).returningAll().executeTakeFirstOrThrow();
}

export async function updateEnvironment(db: Db, id: string, patch: Partial<NewEnvironment>): Promise<EnvironmentRow> {
  // A PATCH that only replaces variables changes no column, and SQL has no UPDATE with an empty SET.
  if (Object.keys(patch).length === 0) return db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return db.updateTable('environments').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteEnvironment(db: Db, id: string): Promise<void> {
  await db.deleteFrom('environments').where('id', '=', id).execute();
}
