import type { ProjectRow, UserRow, WorkspaceRow } from '../../store/schema.ts';
import { presentMember } from './identity.ts';
import type { Urls } from './urls.ts';

export function presentProject(
  urls: Urls,
  ws: WorkspaceRow,
  p: ProjectRow,
  creator: UserRow | undefined,
): Record<string, unknown> {
  const hosted = p.custom_repo_url === null;
  return {
    ...urls.pair(urls.project(ws.domain, p.name)),
    name: p.name,
    display_name: p.display_name,
    status: p.status,
    create_date: p.create_date,
    created_by: presentMember(urls, ws.domain, creator, ws.owner_id),
    default_branch: p.default_branch,
    http_repository: hosted ? urls.gitRepository(ws.domain, p.name) : null,
    ssh_repository: null,
    custom_repo_url: p.custom_repo_url,
    custom_repo_user: p.custom_repo_user,
    custom_repo_pass: p.custom_repo_pass === null ? null : '!encrypted',
    external_project_id: null,
    git_lab_project_id: null,
    integration: null,
    access: 'PRIVATE',
    fetch_submodules: false,
    without_repository: false,
  };
}

/** The short project object nested in pipelines. */
export function presentProjectRef(urls: Urls, ws: WorkspaceRow, p: ProjectRow): Record<string, unknown> {
  return {
    ...urls.pair(urls.project(ws.domain, p.name)),
    name: p.name,
    display_name: p.display_name,
    status: p.status,
  };
}
