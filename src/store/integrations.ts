import type { Insertable } from 'kysely';
import type { Db } from './database.ts';
import type { IntegrationRow, IntegrationsTable } from './schema.ts';
import { now, parseJson } from './time.ts';

/** Buddy's integration fields kept in the `settings` JSON column, with Buddy's defaults. */
export interface IntegrationSettings {
  auth_type: string;
  shop?: string;
  audience?: string;
  app_id?: string;
  tenant_id?: string;
  email?: string;
  google_project?: string;
  region?: string;
  role_assumptions: { arn: string; external_id?: string; duration?: number }[];
  all_pipelines_allowed: boolean;
  /** Ids of the pipelines that may use it when `all_pipelines_allowed` is false. */
  allowed_pipelines: number[];
  permissions: {
    admins: string;
    others: string;
    users: { id: number; access_level: string }[];
    groups: { id: number; access_level: string }[];
  } | null;
}

export const INTEGRATION_DEFAULTS: IntegrationSettings = {
  auth_type: 'DEFAULT',
  role_assumptions: [],
  all_pipelines_allowed: true,
  allowed_pipelines: [],
  permissions: null,
};

export function integrationSettings(i: IntegrationRow): IntegrationSettings {
  return { ...INTEGRATION_DEFAULTS, ...parseJson<Partial<IntegrationSettings>>(i.settings) };
}

export async function listIntegrations(db: Db, workspaceId: number): Promise<IntegrationRow[]> {
  return db
    .selectFrom('integrations')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .execute();
}

/**
 * The integration named `ref` in a workspace: by identifier first, then by hash_id, since Buddy's
 * clients address integrations by either.
 */
export async function findIntegration(
  db: Db,
  workspaceId: number,
  ref: string,
): Promise<IntegrationRow | undefined> {
  const rows = await db
    .selectFrom('integrations')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where((eb) => eb.or([eb('identifier', '=', ref), eb('hash_id', '=', ref)]))
    .execute();
  return rows.find((r) => r.identifier === ref) ?? rows[0];
}

export async function integrationIdentifierInUse(
  db: Db,
  workspaceId: number,
  identifier: string,
  exceptId?: number,
): Promise<boolean> {
  let q = db
    .selectFrom('integrations')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('identifier', '=', identifier);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

export type NewIntegration = Omit<Insertable<IntegrationsTable>, 'id' | 'create_date'>;

export async function createIntegration(db: Db, i: NewIntegration): Promise<IntegrationRow> {
  return db
    .insertInto('integrations')
    .values({ ...i, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateIntegration(
  db: Db,
  id: number,
  patch: Partial<NewIntegration>,
): Promise<IntegrationRow> {
  // SQL has no UPDATE with an empty SET; a PATCH that changes nothing answers the row as it is.
  if (Object.keys(patch).length === 0)
    return db.selectFrom('integrations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return db
    .updateTable('integrations')
    .set(patch)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteIntegration(db: Db, id: number): Promise<void> {
  await db.deleteFrom('integrations').where('id', '=', id).execute();
}
