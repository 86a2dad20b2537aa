import type { Member } from '../../store/members.ts';
import type { MemberGroupRow, PermissionSetRow, UserRow, WorkspaceRow } from '../../store/schema.ts';
import type { Urls } from './urls.ts';

/**
 * Every member needs a non-empty `avatar_url` (Buddy's clients check it). Gantry reaches no avatar
 * service, so the avatar is a small SVG with the person's initial, inline as a data URL.
 */
export function avatarUrl(user: Pick<UserRow, 'id' | 'name' | 'email'>): string {
  const initial = (user.name || user.email).trim().charAt(0).toUpperCase() || '?';
  const hue = (user.id * 67) % 360;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="hsl(${hue},45%,45%)"/>` +
    `<text x="32" y="42" font-size="30" text-anchor="middle" fill="#fff" font-family="sans-serif">${escapeXml(initial)}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A workspace member (also the body of project and group members, which add their own fields). */
export function presentWorkspaceMember(
  urls: Urls,
  ws: WorkspaceRow,
  m: Member,
  path?: string,
): Record<string, unknown> {
  return {
    ...urls.pair(path ?? `${urls.workspace(ws.domain)}/members/${m.user.id}`),
    id: m.user.id,
    name: m.user.name,
    email: m.user.email,
    avatar_url: avatarUrl(m.user),
    admin: m.membership.admin === 1 || ws.owner_id === m.user.id,
    workspace_owner: ws.owner_id === m.user.id,
    auto_assign_to_new_projects: m.membership.auto_assign_to_new_projects === 1,
    auto_assign_permission_set_id: m.membership.auto_assign_permission_set_id ?? undefined,
  };
}

export function presentPermissionSet(
  urls: Urls,
  ws: WorkspaceRow,
  s: PermissionSetRow,
): Record<string, unknown> {
  return {
    ...urls.pair(`${urls.workspace(ws.domain)}/permissions/${s.id}`),
    id: s.id,
    name: s.name,
    description: s.description,
    type: s.type,
    pipeline_access_level: s.pipeline_access_level,
    project_team_access_level: s.project_team_access_level,
    repository_access_level: s.repository_access_level,
    sandbox_access_level: s.sandbox_access_level,
    environment_access_level: s.environment_access_level,
    target_access_level: s.target_access_level,
  };
}

export function presentGroup(
  urls: Urls,
  ws: WorkspaceRow,
  g: MemberGroupRow,
  path?: string,
): Record<string, unknown> {
  return {
    ...urls.pair(path ?? `${urls.workspace(ws.domain)}/groups/${g.id}`),
    id: g.id,
    name: g.name,
    description: g.description,
    auto_assign_to_new_projects: g.auto_assign_to_new_projects === 1,
    auto_assign_permission_set_id: g.auto_assign_permission_set_id ?? undefined,
  };
}
