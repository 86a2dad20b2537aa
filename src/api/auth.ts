import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isIP } from 'node:net';
import type { Scope } from '../domain/scopes.ts';
import type { Db } from '../store/database.ts';
import { findTokenById } from '../store/identity.ts';
import type { TokenRow, UserRow } from '../store/schema.ts';
import { ApiError } from './errors.ts';
import { identityOfRow, loadIdentity, type PrincipalCache, type TokenIdentity } from './principal-cache.ts';
import type { StreamTickets } from './stream-tickets.ts';

export interface Principal {
  user: UserRow;
  token: TokenRow;
  scopes: ReadonlySet<string>;
  /** Current domains of the workspaces the token is restricted to; null when it may reach every workspace. */
  workspaceRestrictions: readonly string[] | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Scope a token needs for this route; `null` marks a public route. */
    scope?: Scope | null;
    /** A Server-Sent Events route: also accepts a single-use stream ticket (`?ticket=`) bound to its path. */
    stream?: boolean;
  }
}

/** Reads the token from `Authorization: Bearer`, Basic auth's password (git clients) or `?access_token=`. */
export function tokenFromRequest(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header) {
    // Any run of spaces or tabs separates the scheme from its value ("Bearer  <token>" works too).
    const match = /^([A-Za-z]+)[ \t]+(.*)$/.exec(header.trim());
    const kind = match?.[1];
    const value = match?.[2]?.trim();
    if (kind?.toLowerCase() === 'bearer' && value) return value;
    if (kind?.toLowerCase() === 'basic' && value) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const idx = decoded.indexOf(':');
      return idx >= 0 ? decoded.slice(idx + 1) : null;
    }
  }
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.access_token;
  return typeof fromQuery === 'string' && fromQuery !== '' ? fromQuery : null;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

/** True when `ip` matches one of the restrictions (exact addresses or IPv4 CIDR blocks). */
export function ipAllowed(ip: string, restrictions: readonly string[]): boolean {
  if (restrictions.length === 0) return true;
  const bare = ip.replace(/^::ffff:/, '');
  return restrictions.some((r) => {
    if (!r.includes('/')) return r === bare || r === ip;
    const [net, bitsText] = r.split('/');
    const bits = Number(bitsText);
    if (!net || isIP(net) !== 4 || isIP(bare) !== 4 || !(bits >= 0 && bits <= 32)) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (ipv4ToInt(net) & mask) === (ipv4ToInt(bare) & mask);
  });
}

/**
 * Why an `ip_restrictions` entry can never match (null when it can): ipAllowed understands exact
 * IPv4/IPv6 addresses and IPv4 CIDR blocks, and a typo must not silently lock a token out.
 */
export function ipRestrictionProblem(entry: string): string | null {
  if (isIP(entry) !== 0) return null;
  const [net, bits, extra] = entry.split('/');
  if (
    extra === undefined &&
    net &&
    isIP(net) === 4 &&
    bits !== undefined &&
    /^(?:[0-9]|[12][0-9]|3[0-2])$/.test(bits)
  )
    return null;
  return `ip_restrictions: "${entry}" is not an IP address or an IPv4 CIDR block`;
}

/** Resolves a token to a principal, or throws the 401 a client should see. `cache` spares the lookup (see PrincipalCache). */
export async function authenticate(
  db: Db,
  token: string | null,
  ip: string,
  cache?: PrincipalCache,
): Promise<Principal> {
  if (!token) throw new ApiError(401, 'authentication required: send "Authorization: Bearer <token>"');
  return principalOfIdentity(cache ? await cache.resolve(db, token) : await loadIdentity(db, token), ip);
}

/** The principal of a token (looked up by value or, for a stream ticket, by id), or the 401/403 to answer. */
function principalOfIdentity(identity: TokenIdentity | undefined, ip: string): Principal {
  if (!identity) throw new ApiError(401, 'invalid token');
  const { token, user, scopes, workspaceRestrictions } = identity;
  if (token.expires_at && Date.parse(token.expires_at) <= Date.now())
    throw new ApiError(401, 'token has expired');
  if (!ipAllowed(ip, identity.ipRestrictions)) throw new ApiError(403, `token may not be used from ${ip}`);
  return { user, token, scopes, workspaceRestrictions };
}

/**
 * Every route must declare `config.scope`; a route that forgets it is refused rather than left open.
 * Routes with `scope: null` are public.
 */
export function installAuth(
  app: FastifyInstance,
  db: Db,
  tickets?: StreamTickets,
  cache?: PrincipalCache,
): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (!request.routeOptions.url) return; // 404 handler
    if (config.scope === null) return;
    const ticket = (request.query as Record<string, unknown> | undefined)?.ticket;
    if (config.stream && tickets && typeof ticket === 'string' && ticket !== '') {
      // The ticket stands for the token it was issued to, re-checked now (revoked, expired, IP, scopes).
      const tokenId = await tickets.redeem(ticket, request.url.split('?')[0] ?? '');
      if (tokenId === null) throw new ApiError(401, 'invalid or expired stream ticket');
      request.principal = principalOfIdentity(
        await identityOfRow(db, await findTokenById(db, tokenId)),
        request.ip,
      );
    } else request.principal = await authenticate(db, tokenFromRequest(request), request.ip, cache);
    if (config.scope === undefined) throw new ApiError(403, 'this endpoint declares no scope');
    if (!request.principal.scopes.has(config.scope)) {
      throw new ApiError(403, `token lacks the ${config.scope} scope`);
    }
  });
}

/** The authenticated principal of a route that declares a scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError(401, 'authentication required');
  return request.principal;
}

/** Refuses workspaces outside the token's `workspace_restrictions` as if they did not exist. */
export function assertWorkspaceAllowed(request: FastifyRequest, domain: string): void {
  const restrictions = principalOf(request).workspaceRestrictions;
  if (restrictions !== null && !restrictions.includes(domain)) {
    throw new ApiError(403, `token is restricted to other workspaces than "${domain}"`);
  }
}
