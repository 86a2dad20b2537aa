import { integrationRegistry, isSupportedIntegrationType } from '../domain/integrations.ts';
import type { RegistryAuth } from '../runtime/container-runtime.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import { findIntegration } from '../store/integrations.ts';

/**
 * Registry credentials of the workspace integration `identifier` (or hash_id), the password opened
 * from its sealed form; null when the workspace has no such integration.
 */
export async function resolveIntegrationAuth(
  db: Db,
  box: SecretBox,
  workspaceId: number,
  identifier: string,
): Promise<RegistryAuth | null> {
  const row = await findIntegration(db, workspaceId, identifier);
  if (!row) return null;
  // Only supported types are ever stored; a row from a newer Gantry is not guessed at.
  if (!isSupportedIntegrationType(row.type))
    throw new Error(`integration "${identifier}" has type ${row.type}, which this Gantry cannot use`);
  return {
    username: row.username ?? '',
    password: row.password === null ? '' : box.open(row.password),
    serveraddress: integrationRegistry(row.type, row.host),
  };
}
