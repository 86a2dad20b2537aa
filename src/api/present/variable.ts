import { shownSealed } from '../../secrets/variables.ts';
import type { EnvironmentRow, VariableRow, WorkspaceRow } from '../../store/schema.ts';
import { environmentSettings } from '../../store/environments.ts';
import { parseJson } from '../../store/time.ts';
import type { Urls } from './urls.ts';

/** Names of the objects a variable can hang on, already resolved by the route. */
export interface VariableOwners {
  project?: { name: string; display_name: string } | null;
  pipeline?: { id: number; name: string; projectName: string } | null;
  action?: { id: number; name: string; pipelineId: number; projectName: string } | null;
  environment?: EnvironmentRow | null;
}

export function presentVariableRow(
  urls: Urls,
  ws: WorkspaceRow,
  v: VariableRow,
  owners: VariableOwners,
): Record<string, unknown> {
  const { project, pipeline, action, environment } = owners;
  return {
    ...urls.pair(`${urls.workspace(ws.domain)}/variables/${v.id}`),
    id: v.id,
    key: v.key,
    value: v.encrypted === 1 ? shownSealed(v.value) : v.value,
    type: v.type,
    description: v.description,
    encrypted: v.encrypted === 1,
    settable: v.settable === 1,
    file_place: v.file_place,
    file_path: v.file_path,
    file_chmod: v.file_chmod,
    public_value: v.public_value,
    key_fingerprint: v.key_fingerprint,
    checksum: v.checksum,
    project: project
      ? {
          ...urls.pair(urls.project(ws.domain, project.name)),
          name: project.name,
          display_name: project.display_name,
        }
      : null,
    pipeline: pipeline
      ? {
          ...urls.pair(urls.pipeline(ws.domain, pipeline.projectName, pipeline.id)),
          id: pipeline.id,
          name: pipeline.name,
        }
      : null,
    action: action
      ? {
          ...urls.pair(urls.action(ws.domain, action.projectName, action.pipelineId, action.id)),
          id: action.id,
          name: action.name,
        }
      : null,
    environment: environment ? presentEnvironmentRef(urls, ws, environment) : null,
  };
}

export function presentEnvironmentRef(
  urls: Urls,
  ws: WorkspaceRow,
  e: EnvironmentRow,
): Record<string, unknown> {
  return {
    ...urls.pair(`${urls.workspace(ws.domain)}/environments/${e.id}`),
    id: e.id,
    name: e.name,
    identifier: e.identifier,
    scope: e.project_id === null ? 'WORKSPACE' : 'PROJECT',
  };
}

export function presentEnvironment(
  urls: Urls,
  ws: WorkspaceRow,
  e: EnvironmentRow,
  project: { name: string; display_name: string } | null,
  variables: Record<string, unknown>[],
): Record<string, unknown> {
  return {
    ...presentEnvironmentRef(urls, ws, e),
    ...environmentSettings(e),
    tags: parseJson<string[]>(e.tags),
    icon: e.icon ?? '',
    public_url: e.public_url ?? '',
    targets: [],
    project: project
      ? {
          ...urls.pair(urls.project(ws.domain, project.name)),
          name: project.name,
          display_name: project.display_name,
        }
      : null,
    variables,
    create_date: e.create_date,
  };
}
