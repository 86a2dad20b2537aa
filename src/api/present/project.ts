import { projectSettings } from '../../store/projects.ts';
import type { ProjectRow, UserRow, WorkspaceRow } from '../../store/schema.ts';
import { presentMember } from './identity.ts';
import type { Urls } from './urls.ts';

export function presentProject(
  urls: Urls,
  ws: WorkspaceRow,
  p: ProjectRow,
  creator: UserRow | undefined,
  /** The workspace's admin members (workspaceAdminIds). */
  admins: ReadonlySet<number>,
): Record<string, unknown> {
  const hosted = p.custom_repo_url === null;
  const settings = projectSettings(p);
  // Gantry serves git over HTTP only, so both addresses are the HTTP clone URL (a custom repository's own).
  const cloneUrl = hosted ? urls.gitRepository(ws.domain, p.name) : p.custom_repo_url!;
  return {
    ...urls.pair(urls.project(ws.domain, p.name)),
    name: p.name,
    display_name: p.display_name,
    status: p.status,
    create_date: p.create_date,
    created_by: presentMember(urls, ws, creator, admins),
    // Unknown for a custom repository until it was first fetched; Buddy's default until then.
    default_branch: p.default_branch ?? 'master',
    http_repository: cloneUrl,
    ssh_repository: cloneUrl,
    custom_repo_url: p.custom_repo_url,
    custom_repo_user: p.custom_repo_user,
    custom_repo_pass: p.custom_repo_pass === null ? null : '!encrypted',
    custom_repo_ssh_key_id: settings.custom_repo_ssh_key_id,
    external_project_id: settings.external_project_id,
    git_lab_project_id: settings.git_lab_project_id,
    integration: settings.integration_hash_id === null ? null : { hash_id: settings.integration_hash_id },
    access: settings.access,
    allow_pull_requests: settings.allow_pull_requests,
    fetch_submodules: settings.fetch_submodules,
    fetch_submodules_env_key: settings.fetch_submodules_env_key,
    update_default_branch_from_external: settings.update_default_branch_from_external,
    without_repository: settings.without_repository,
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
