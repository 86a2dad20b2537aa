import { integrationRegistry, isSupportedIntegrationType } from '../domain/integrations.ts';
import type { RegistryAuth } from '../runtime/container-runtime.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import { findIntegration, integrationSettings } from '../store/integrations.ts';

/**
 * Registry credentials of the workspace integration `identifier` (or hash_id), the password opened
 * from its sealed form, for a pipeline of `user.projectId`; null when the workspace has no such
 * integration or it belongs to another project.
 */
export async function resolveIntegrationAuth(
  db: Db,
  box: SecretBox,
  workspaceId: number,
  identifier: string,
  user: { projectId: number; pipelineId: number },
): Promise<RegistryAuth | null> {
  const row = await findIntegration(db, workspaceId, identifier);
  if (!row || (row.project_id !== null && row.project_id !== user.projectId)) return null;
  // Other types are stored for Buddy's clients; using one needs its provider's API.
  if (!isSupportedIntegrationType(row.type))
    throw new Error(
      `integration "${identifier}" has type ${row.type}, which Gantry cannot use yet (only DOCKER_HUB and DOCKER_REGISTRY)`,
    );
  const settings = integrationSettings(row);
  if (!settings.all_pipelines_allowed && !settings.allowed_pipelines.includes(user.pipelineId))
    throw new Error(`integration "${identifier}" is not allowed for this pipeline (allowed_pipelines)`);
  return {
    username: row.username ?? '',
    password: row.password === null ? '' : box.open(row.password),
    serveraddress: integrationRegistry(row.type, row.host),
  };
}
