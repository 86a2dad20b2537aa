import { lookup } from 'node:dns/promises';
import { realpath } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseRepositoryUrl } from '../domain/repository-url.ts';

/** What an administrator opened for `custom_repo_url` (configuration), besides public hosts. */
export interface RepositoryUrlPolicy {
  /** Gantry's data directory: never reachable, whatever else is allowed. */
  dataDir: string;
  /** Local directories whose repositories projects may use (none by default). */
  allowedRoots: readonly string[];
  /** Host names, IP addresses or CIDR ranges that may be fetched from although they are internal. */
  allowedHosts: readonly string[];
}

/** The policy the configuration sets. */
export function repositoryUrlPolicy(config: {
  dataDir: string;
  allowedRepositoryRoots: readonly string[];
  allowedRepositoryHosts: readonly string[];
}): RepositoryUrlPolicy {
  return {
    dataDir: config.dataDir,
    allowedRoots: config.allowedRepositoryRoots,
    allowedHosts: config.allowedRepositoryHosts,
  };
}

/** A URL that passed the policy: what git is given, and settings that keep it to what was checked. */
export interface CheckedRepositoryUrl {
  gitUrl: string;
  /** `-c` options for git (pinned addresses, no redirects). */
  gitConfig: string[];
}

/** Loopback, private, link-local, carrier-grade NAT, multicast and reserved ranges, IPv4 and IPv6. */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address (::ffff:127.0.0.1), else the input. */
function unmapped(address: string): string {
  const m = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m?.[1]) return m[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] && hex[2]) {
    const a = parseInt(hex[1], 16);
    const b = parseInt(hex[2], 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return address;
}

export function isInternalAddress(address: string): boolean {
  const a = unmapped(address);
  const family = isIP(a);
  if (family === 0) return true;
  return INTERNAL.check(a, family === 4 ? 'ipv4' : 'ipv6');
}

function allowedByList(host: string, addresses: readonly string[], allowed: readonly string[]): boolean {
  for (const entry of allowed) {
    const e = entry.trim().toLowerCase();
    if (e === host) return true;
    const [net, bits] = e.split('/');
    if (!net || isIP(net) === 0) continue;
    const list = new BlockList();
    const family = isIP(net) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(net, family);
    else list.addSubnet(net, Number(bits), family);
    if (
      addresses.length > 0 &&
      addresses.every((a) => list.check(unmapped(a), isIP(unmapped(a)) === 4 ? 'ipv4' : 'ipv6'))
    )
      return true;
  }
  return false;
}

function inside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || !(rel.startsWith('..') || path.isAbsolute(rel));
}

/** The real path of `p`, or of its nearest existing parent joined with the rest (it may not exist yet). */
async function realOrNearest(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const parent = path.dirname(p);
    if (parent === p) return p;
    return path.join(await realOrNearest(parent), path.basename(p));
  }
}

async function resolveHost(host: string): Promise<string[] | null> {
  if (isIP(host) !== 0) return [host];
  try {
    const found = await Promise.race([
      lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000).unref()),
    ]);
    return found.map((f) => f.address);
  } catch {
    return null;
  }
}

/**
 * Checks a `custom_repo_url` against the policy. Local paths (after `..`, `~` and symbolic links) must lie in
 * an allowed root and never in the data directory; hosts must resolve to public addresses unless listed in
 * `allowedHosts`. `strict` (at fetch time) refuses a host that does not resolve, and the addresses checked are
 * pinned for git's HTTP transport so a second DNS answer cannot differ; at save time an unresolvable host is
 * accepted (the fetch checks again).
 */
export async function checkRepositoryUrl(
  url: string,
  policy: RepositoryUrlPolicy,
  options: { strict: boolean },
): Promise<CheckedRepositoryUrl | string> {
  const location = parseRepositoryUrl(url, homedir());
  if (typeof location === 'string') return location;
  if (location.kind === 'local') {
    const real = await realOrNearest(location.path);
    const dataDir = await realOrNearest(path.resolve(policy.dataDir));
    if (inside(dataDir, real) || inside(dataDir, location.path))
      return "custom_repo_url must not point into Gantry's data directory";
    const roots = await Promise.all(policy.allowedRoots.map((r) => realOrNearest(path.resolve(r))));
    if (!roots.some((root) => inside(root, real)))
      return 'custom_repo_url may not name a local path outside allowedRepositoryRoots (see the configuration)';
    return { gitUrl: real, gitConfig: [] };
  }
  // Never follow a redirect: it could lead anywhere, including to an internal address.
  const gitConfig = ['-c', 'http.followRedirects=false'];
  const host = location.host;
  if (host === 'localhost' || host.endsWith('.localhost')) {
    if (allowedByList(host, [], policy.allowedHosts)) return { gitUrl: url, gitConfig };
    return internalHost(host);
  }
  const addresses = await resolveHost(host);
  if (addresses === null || addresses.length === 0) {
    if (allowedByList(host, [], policy.allowedHosts)) return { gitUrl: url, gitConfig };
    return options.strict ? `custom_repo_url: cannot resolve host "${host}"` : { gitUrl: url, gitConfig };
  }
  if (!allowedByList(host, addresses, policy.allowedHosts) && addresses.some(isInternalAddress))
    return internalHost(host);
  if ((location.scheme === 'http' || location.scheme === 'https') && isIP(host) === 0) {
    const port = location.port ?? (location.scheme === 'https' ? 443 : 80);
    const pinned = addresses.map((a) => (isIP(a) === 6 ? `[${a}]` : a)).join(',');
    gitConfig.push('-c', `http.curloptResolve=${host}:${port}:${pinned}`);
  }
  return { gitUrl: url, gitConfig };
}

function internalHost(host: string): string {
  return `custom_repo_url may not name the loopback, private or link-local host "${host}" unless allowedRepositoryHosts lists it (see the configuration)`;
}
