import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { isScope, SCOPES } from '../../domain/scopes.ts';
import { createToken, deleteToken, listTokens, tokenWorkspaceDomains } from '../../store/identity.ts';
import { getWorkspace } from '../../store/workspaces.ts';
import type { TokenRow } from '../../store/schema.ts';
import { parseJson } from '../../store/time.ts';
import {
  type Principal,
  authenticate,
  ipRestrictionProblem,
  principalOf,
  tokenFromRequest,
} from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, notFound } from '../errors.ts';
import { presentToken } from '../present/identity.ts';
import { AuthQuery } from '../schemas/common.ts';
import { Token, TokenList } from '../schemas/identity.ts';

const TokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 366, description: 'days' })),
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
    scopes: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 64 }),
    ip_restrictions: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })),
    workspace_restrictions: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);

/**
 * Whether `principal` may see and revoke `token`: an unrestricted token reaches all of the user's
 * tokens; a workspace-restricted one only tokens restricted within its own workspaces, so it cannot
 * revoke (or learn about) the broader tokens it was made from.
 */
function withinReach(principal: Principal, token: TokenRow): boolean {
  if (principal.workspaceRestrictions === null) return true;
  const mine = new Set(parseJson<number[]>(principal.token.workspace_restrictions));
  const theirs = parseJson<number[]>(token.workspace_restrictions);
  return theirs.length > 0 && theirs.every((id) => mine.has(id));
}

const RFC3339_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const TokenIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** API tokens: `/user/token`, `/user/tokens`. */
export function identityRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;

  app.get(
    '/user/token',
    { config: { scope: null }, schema: { querystring: AuthQuery, response: { 200: Token } } },
    async (request) => {
      const principal = await authenticate(db, tokenFromRequest(request), request.ip);
      return presentToken(urls, principal.token, principal.workspaceRestrictions);
    },
  );

  app.get(
    '/user/tokens',
    {
      config: { scope: 'TOKEN_INFO', access: 'user' },
      schema: { querystring: AuthQuery, response: { 200: TokenList } },
    },
    async (request) => {
      const principal = principalOf(request);
      const rows = (await listTokens(db, principal.user.id)).filter((t) => withinReach(principal, t));
      const tokens = [];
      for (const t of rows) tokens.push(presentToken(urls, t, await tokenWorkspaceDomains(db, t)));
      return { ...urls.pair('/user/tokens'), access_tokens: tokens };
    },
  );

  app.get<{ Params: Static<typeof TokenIdParams> }>(
    '/user/tokens/:id',
    {
      config: { scope: 'TOKEN_INFO', access: 'user' },
      schema: { params: TokenIdParams, querystring: AuthQuery, response: { 200: Token } },
    },
    async (request) => {
      const principal = principalOf(request);
      const target = (await listTokens(db, principal.user.id)).find((t) => t.id === request.params.id);
      if (!target || !withinReach(principal, target))
        throw notFound(`token "${request.params.id}" not found`);
      return presentToken(urls, target, await tokenWorkspaceDomains(db, target));
    },
  );

  app.post<{ Body: Static<typeof TokenBody> }>(
    '/user/tokens',
    {
      config: { scope: 'TOKEN_MANAGE', access: 'user' },
      schema: { body: TokenBody, querystring: AuthQuery, response: { 201: Token } },
    },
    async (request, reply) => {
      const body = request.body;
      const principal = principalOf(request);
      const unknown = body.scopes.filter((s) => !isScope(s));
      if (unknown.length > 0)
        throw badRequest(`unknown scope ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
      // A token cannot hand out more than it holds.
      const beyond = body.scopes.filter((s) => !principal.scopes.has(s));
      if (beyond.length > 0)
        throw badRequest(`token cannot grant scopes it does not hold: ${beyond.join(', ')}`);
      if (body.expires_in !== undefined && body.expires_at !== undefined)
        throw badRequest('give expires_in or expires_at, not both');
      let expiresAt: string | null = null;
      if (body.expires_in !== undefined)
        expiresAt = new Date(Date.now() + body.expires_in * 86_400_000).toISOString();
      if (body.expires_at !== undefined) {
        const t = Date.parse(body.expires_at);
        if (Number.isNaN(t) || t <= Date.now()) throw badRequest('expires_at must be a future ISO-8601 date');
        // Kept as sent when it carries its offset, so it reads back with the same date; else as UTC.
        expiresAt = RFC3339_WITH_OFFSET.test(body.expires_at) ? body.expires_at : new Date(t).toISOString();
      }
      for (const entry of body.ip_restrictions ?? []) {
        const problem = ipRestrictionProblem(entry);
        if (problem) throw badRequest(problem);
      }
      const restrictions = [...new Set(body.workspace_restrictions ?? [])];
      const inherited = principal.workspaceRestrictions;
      if (
        inherited !== null &&
        (restrictions.length === 0 || restrictions.some((w) => !inherited.includes(w)))
      ) {
        throw badRequest(
          `token is restricted to ${inherited.join(', ') || 'deleted workspaces'}; the new token must be too`,
        );
      }
      // As `gantry token create --workspace` does: a restriction to a workspace that does not exist is a
      // typo. Checked after the inheritance rule so a restricted token learns nothing of other workspaces.
      const workspaceIds: number[] = [];
      for (const domain of restrictions) {
        const ws = await getWorkspace(db, domain);
        if (!ws) throw badRequest(`workspace_restrictions: workspace "${domain}" not found`);
        workspaceIds.push(ws.id);
      }
      const { row, token } = await createToken(db, {
        userId: principal.user.id,
        name: body.name,
        scopes: [...new Set(body.scopes)],
        ipRestrictions: body.ip_restrictions ?? [],
        workspaceRestrictions: workspaceIds,
        expiresAt,
      });
      return reply
        .status(201)
        .send(presentToken(urls, row, restrictions.length > 0 ? restrictions : null, token));
    },
  );

  app.delete<{ Params: Static<typeof TokenIdParams> }>(
    '/user/tokens/:id',
    {
      config: { scope: 'TOKEN_MANAGE', access: 'user' },
      schema: { params: TokenIdParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const target = (await listTokens(db, principal.user.id)).find((t) => t.id === request.params.id);
      if (
        !target ||
        !withinReach(principal, target) ||
        !(await deleteToken(db, principal.user.id, target.id))
      ) {
        throw notFound(`token "${request.params.id}" not found`);
      }
      return reply.status(204).send();
    },
  );
}
