import path from 'node:path';

/** Where a repository URL leads, once every spelling of the same thing has been reduced to one. */
export type RepositoryLocation =
  | { kind: 'local'; path: string }
  | { kind: 'remote'; scheme: 'http' | 'https' | 'git' | 'ssh'; host: string; port: number | null };

const BAD_URL = 'custom_repo_url must be an http(s), git, ssh or file:// URL, or an absolute local path';

/**
 * Reads a `custom_repo_url` the way git will: `file://host/path`, `file:/path`, plain absolute paths and
 * `~/path` (relative to `home`) are local paths, normalised (`..` resolved); http(s), git and ssh URLs and
 * scp-like `user@host:path` name a host (lower case, without brackets). Returns an error message for
 * anything else, including what git could read as an option and control characters.
 */
export function parseRepositoryUrl(url: string, home: string): RepositoryLocation | string {
  if (url.startsWith('-')) return 'custom_repo_url must not start with "-"';
  if (/[\x00-\x1f\x7f]/.test(url)) return 'custom_repo_url contains control characters';
  const local = localPath(url, home);
  if (local !== null) return typeof local === 'string' ? local : { kind: 'local', path: local.path };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https' || scheme === 'git' || scheme === 'ssh') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return BAD_URL;
    }
    const host = hostOf(parsed.hostname);
    if (host === '') return BAD_URL;
    return { kind: 'remote', scheme, host, port: parsed.port === '' ? null : Number(parsed.port) };
  }
  // scp-like syntax, as git reads it: no slash before the first colon.
  const scp = /^[^@/:]+@(\[[^\]]+\]|[^:/]+):/.exec(url);
  if (scp?.[1]) return { kind: 'remote', scheme: 'ssh', host: hostOf(scp[1]), port: null };
  return BAD_URL;
}

function hostOf(raw: string): string {
  return raw
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

function localPath(url: string, home: string): { path: string } | string | null {
  let p: string;
  if (/^file:/i.test(url)) {
    const rest = url.slice('file:'.length);
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      const host = rest.slice(2, slash < 0 ? undefined : slash).toLowerCase();
      if (host !== '' && host !== 'localhost') return 'custom_repo_url: file:// URLs must name a local path';
      p = slash < 0 ? '/' : rest.slice(slash);
    } else p = rest;
    try {
      p = decodeURIComponent(p);
    } catch {
      return BAD_URL;
    }
    if (p.includes('\0')) return 'custom_repo_url contains control characters';
  } else if (url.startsWith('/')) p = url;
  else if (url === '~' || url.startsWith('~/')) p = path.join(home, url.slice(1));
  else if (url.startsWith('~')) return 'custom_repo_url: "~user" paths are not supported';
  else return null;
  if (!p.startsWith('/')) return BAD_URL;
  return { path: path.posix.normalize(p) };
}
