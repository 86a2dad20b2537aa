import { AccessContext } from '../api/access/access-context.ts';
import { allows, type AccessLevel } from '../domain/access-levels.ts';
import type { Db } from '../store/database.ts';
import { getUser } from '../store/identity.ts';
import { findIntegration } from '../store/integrations.ts';
import { findPipelineByNames, type Pipeline } from '../store/pipelines.ts';
import type { IntegrationRow, WorkspaceRow } from '../store/schema.ts';
import { getWorkspaceById } from '../store/workspaces.ts';

/** The identifier of the integration an action's settings name, or null. */
export function namedIntegration(settings: object): string | null {
  const integration = (settings as { integration?: { identifier?: unknown } | null }).integration;
  return typeof integration?.identifier === 'string' ? integration.identifier : null;
}

/** An integration an action names, with the level `access`'s user holds on it. */
export interface IntegrationUse {
  action: string;
  identifier: string;
  /** Undefined when the workspace has no such integration for the project (it fails the action at run time). */
  integration: IntegrationRow | undefined;
  level: AccessLevel;
}

/**
 * The integrations `actions` name, each with the level the user of `access` holds on it. An integration
 * of another project counts as missing, as at run time. (Integration permissions: DEFAULT gives
 * members USE_ONLY; workspace managers hold MANAGE.)
 */
export async function integrationUses(
  db: Db,
  access: AccessContext,
  ws: WorkspaceRow,
  projectId: number,
  actions: readonly { name: string; settings: object }[],
): Promise<IntegrationUse[]> {
  const uses: IntegrationUse[] = [];
  for (const a of actions) {
    const identifier = namedIntegration(a.settings);
    if (identifier === null) continue;
    const row = await findIntegration(db, ws.id, identifier);
    const integration = row && (row.project_id === null || row.project_id === projectId) ? row : undefined;
    const level = integration ? await access.integrationLevel(ws, integration) : 'DENIED';
    uses.push({ action: a.name, identifier, integration, level });
  }
  return uses;
}

/**
 * Why the user a run is attributed to may not use what its actions name, or null when they may: each
 * integration an action names needs USE_ONLY (checked before anything of the run starts, so a pipeline
 * edited by someone else cannot lend a user credentials they are denied). Integrations that do not
 * exist are left to the action, which fails naming them.
 */
export async function runPermissionBlocker(
  db: Db,
  ws: WorkspaceRow,
  projectId: number,
  creatorId: number,
  actions: readonly { name: string; settings: object }[],
): Promise<string | null> {
  if (!actions.some((a) => namedIntegration(a.settings) !== null)) return null;
  const user = await getUser(db, creatorId);
  if (!user)
    return 'the user who started the run no longer exists, and its actions use integrations, which need a user allowed to use them';
  const access = new AccessContext(db, user);
  for (const use of await integrationUses(db, access, ws, projectId, actions)) {
    if (!use.integration || allows(use.level, 'USE_ONLY')) continue;
    return `action "${use.action}" uses integration "${use.identifier}", which ${user.email} (who started the run) may not use: their access to it is ${use.level}; an administrator can grant USE_ONLY in the integration's permissions`;
  }
  return null;
}

/**
 * The pipeline `projectName/pipelineName` of a workspace when the user a run is attributed to may see
 * it, else undefined (for SUCCESS_PIPELINE conditions: a pipeline they are denied counts as missing, so
 * its status does not leak to them).
 */
export async function pipelineReadableBy(
  db: Db,
  workspaceId: number,
  userId: number,
  projectName: string,
  pipelineName: string,
): Promise<Pipeline | undefined> {
  const pipeline = await findPipelineByNames(db, workspaceId, projectName, pipelineName);
  if (!pipeline) return undefined;
  const [user, ws] = await Promise.all([getUser(db, userId), getWorkspaceById(db, workspaceId)]);
  if (!user || !ws) return undefined;
  const level = await new AccessContext(db, user).pipelineLevel(ws, pipeline);
  return allows(level, 'READ_ONLY') ? pipeline : undefined;
}
