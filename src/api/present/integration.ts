import { shownSealed } from '../../secrets/variables.ts';
import type { IntegrationRow, WorkspaceRow } from '../../store/schema.ts';
import type { Urls } from './urls.ts';

/** An integration as the API shows it: the password only ever in its sealed form. */
export function presentIntegration(urls: Urls, ws: WorkspaceRow, i: IntegrationRow): Record<string, unknown> {
  return {
    ...urls.pair(`${urls.workspace(ws.domain)}/integrations/${encodeURIComponent(i.identifier)}`),
    identifier: i.identifier,
    hash_id: i.hash_id,
    name: i.name,
    type: i.type,
    auth_type: 'DEFAULT',
    scope: i.scope,
    project_name: null,
    username: i.username,
    password: i.password === null ? null : shownSealed(i.password),
    host: i.host,
    create_date: i.create_date,
  };
}
