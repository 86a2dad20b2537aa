import { PLAIN_INTEGRATION_FIELDS } from '../../domain/integrations.ts';
import { shownSealed } from '../../secrets/variables.ts';
import type { IntegrationSettings } from '../../store/integrations.ts';
import type { IntegrationRow, WorkspaceRow } from '../../store/schema.ts';
import type { Urls } from './urls.ts';

/**
 * An integration as the API shows it: credentials never (a registry password only in its sealed
 * form, which a client may send back unchanged).
 */
export function presentIntegration(
  urls: Urls,
  ws: WorkspaceRow,
  i: IntegrationRow,
  extra: { settings: IntegrationSettings; projectName: string; pipelines: Record<string, unknown>[] },
): Record<string, unknown> {
  const { settings } = extra;
  const plain: Record<string, string> = {};
  for (const f of PLAIN_INTEGRATION_FIELDS) {
    const v = settings[f];
    if (v !== undefined) plain[f] = v;
  }
  return {
    ...urls.pair(`${urls.workspace(ws.domain)}/integrations/${encodeURIComponent(i.identifier)}`),
    identifier: i.identifier,
    hash_id: i.hash_id,
    name: i.name,
    type: i.type,
    auth_type: settings.auth_type,
    scope: i.scope,
    // Buddy's clients expect "" for a workspace integration.
    project_name: extra.projectName,
    username: i.username,
    password: i.password === null ? null : shownSealed(i.password),
    host: i.host,
    ...plain,
    role_assumptions: settings.role_assumptions,
    all_pipelines_allowed: settings.all_pipelines_allowed,
    allowed_pipelines: extra.pipelines,
    permissions: settings.permissions,
    create_date: i.create_date,
  };
}
