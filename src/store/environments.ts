import type { Insertable } from 'kysely';
import type { Db } from './database.ts';
import type { EnvironmentRow, EnvironmentsTable } from './schema.ts';
import { findForProject, identifierTakenInScope, listInScope } from './project-scoped.ts';
import { now, parseJson } from './time.ts';

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

/** Buddy's environment fields kept in the `settings` JSON column, with Buddy's defaults. */
export interface EnvironmentSettings {
  pipelines_access_level: 'USE_ONLY' | 'DENIED';
  environments_access_level: 'USE_ONLY' | 'DENIED';
  allowed_pipelines: { project: string; pipeline: string; access_level: string }[];
  allowed_environments: { project: string; environment: string; access_level: string }[];
  base_only: boolean;
  base_environments: string[];
  /** Who may use the environment; null until a client sets it. */
  permissions: {
    others: string;
    users: { id: number; access_level: string }[];
    groups: { id: number; access_level: string }[];
  } | null;
}

export const ENVIRONMENT_DEFAULTS: EnvironmentSettings = {
  pipelines_access_level: 'USE_ONLY',
  environments_access_level: 'USE_ONLY',
  allowed_pipelines: [],
  allowed_environments: [],
  base_only: false,
  base_environments: [],
  permissions: null,
};

export function environmentSettings(e: EnvironmentRow): EnvironmentSettings {
  return { ...ENVIRONMENT_DEFAULTS, ...parseJson<Partial<EnvironmentSettings>>(e.settings) };
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
