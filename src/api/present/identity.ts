import type { TokenRow, UserKeyRow, UserRow, WorkspaceRow } from '../../store/schema.ts';
import { parseJson } from '../../store/time.ts';
import type { Urls } from './urls.ts';

/** Buddy always gives a picture; Gantry draws the user's initial. */
export function avatarUrl(urls: Urls, user: UserRow): string {
  const initial = (user.name.trim()[0] ?? user.email[0] ?? '?').toUpperCase();
  return urls.api(`/avatars/${user.id}.svg?initial=${encodeURIComponent(initial)}`);
}

/**
 * A workspace member as Buddy nests it (creator, committer, author...). `admin` is the person's role in
 * this workspace (its owner or an admin member: `admins`, see workspaceAdminIds), not the server-wide flag.
 */
export function presentMember(
  urls: Urls,
  ws: WorkspaceRow,
  user: UserRow | undefined,
  admins: ReadonlySet<number>,
): Record<string, unknown> | null {
  if (!user) return null;
  return {
    ...urls.pair(`${urls.workspace(ws.domain)}/members/${user.id}`),
    id: user.id,
    name: user.name,
    avatar_url: avatarUrl(urls, user),
    email: user.email,
    admin: ws.owner_id === user.id || admins.has(user.id),
    workspace_owner: ws.owner_id === user.id,
    auto_assign_to_new_projects: false,
  };
}

export function presentWorkspace(urls: Urls, w: WorkspaceRow): Record<string, unknown> {
  return {
    ...urls.pair(urls.workspace(w.domain)),
    id: w.id,
    owner_id: w.owner_id,
    name: w.name,
    domain: w.domain,
    frozen: w.frozen === 1,
    create_date: w.create_date,
  };
}

/** A token; `workspaces` are the current domains of its restriction (see tokenWorkspaceDomains), `clear` its value right after creation. */
export function presentToken(
  urls: Urls,
  t: TokenRow,
  workspaces: readonly string[] | null,
  clear?: string,
): Record<string, unknown> {
  return {
    ...urls.pair(`/user/tokens/${t.id}`),
    id: t.id,
    name: t.name,
    token: clear ?? null,
    expires_at: t.expires_at,
    scopes: parseJson<string[]>(t.scopes),
    ip_restrictions: parseJson<string[]>(t.ip_restrictions),
    workspace_restrictions: workspaces ?? [],
    create_date: t.create_date,
  };
}

export function presentUser(urls: Urls, u: UserRow): Record<string, unknown> {
  return {
    ...urls.pair('/user'),
    id: u.id,
    name: u.name,
    avatar_url: avatarUrl(urls, u),
    email: u.email,
    admin: u.admin === 1,
    workspaces_url: urls.api('/workspaces'),
  };
}

export function presentPublicKey(urls: Urls, k: UserKeyRow): Record<string, unknown> {
  return { ...urls.pair(`/user/keys/${k.id}`), id: k.id, title: k.title, content: k.content };
}
