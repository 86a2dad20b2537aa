import type { Insertable } from 'kysely';
import type { Db } from './database.ts';
import type { EnvironmentRow, EnvironmentsTable } from './schema.ts';
import { findForProject, identifierTakenInScope, listInScope } from './project-scoped.ts';
import { now } from './time.ts';

export function listEnvironments(db: Db, workspaceId: number, projectId?: number): Promise<EnvironmentRow[]> {
  return listInScope(db, 'environments', workspaceId, projectId);
}

export async function getEnvironment(
  db: Db,
  workspaceId: number,
  id: string,
): Promise<EnvironmentRow | undefined> {
  return db
    .selectFrom('environments')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The environment an execution names by identifier (a project's own wins over a workspace-wide one). */
export function findEnvironmentForProject(
  db: Db,
  workspaceId: number,
  projectId: number,
  identifier: string,
): Promise<EnvironmentRow | undefined> {
  return findForProject(db, 'environments', workspaceId, projectId, identifier);
}

export function identifierInUse(
  db: Db,
  workspaceId: number,
  projectId: number | null,
  identifier: string,
  exceptId?: string,
): Promise<boolean> {
  return identifierTakenInScope(db, 'environments', workspaceId, projectId, identifier, exceptId);
}

export type NewEnvironment = Omit<Insertable<EnvironmentsTable>, 'create_date'>;

export async function createEnvironment(db: Db, e: NewEnvironment): Promise<EnvironmentRow> {
  return db
    .insertInto('environments')
    .values({ ...e, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateEnvironment(
  db: Db,
  id: string,
  patch: Partial<NewEnvironment>,
): Promise<EnvironmentRow> {
  // A PATCH that only replaces variables changes no column, and SQL has no UPDATE with an empty SET.
  if (Object.keys(patch).length === 0)
    return db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return db
    .updateTable('environments')
    .set(patch)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteEnvironment(db: Db, id: string): Promise<void> {
  await db.deleteFrom('environments').where('id', '=', id).execute();
}
