import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { hasActiveExecutions } from '../../store/executions.ts';
import { memberWorkspaceIds } from '../../store/members.ts';
import { listProjectIds } from '../../store/projects.ts';
import {
  createWorkspace,
  deleteWorkspace,
  getWorkspace,
  listWorkspaces,
  updateWorkspace,
} from '../../store/workspaces.ts';
import { principalOf } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { conflict, forbidden } from '../errors.ts';
import { loadWorkspace } from '../lookup.ts';
import { presentWorkspace } from '../present/identity.ts';
import { addGeneratedSshKey } from './variables.ts';
import { AuthQuery, Name, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { Workspace, WorkspaceList } from '../schemas/identity.ts';

const Domain = Type.String({ minLength: 2, maxLength: 100, pattern: '^[a-z0-9][a-z0-9-]*$' });
/** Buddy's salt for the workspace's encrypted values; Gantry stores it but seals with its own key. */
const Salt = Type.String({ maxLength: 255 });
const CreateBody = Type.Object(
  { domain: Domain, name: Type.Optional(Name), encryption_salt: Type.Optional(Salt) },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    name: Type.Optional(Type.Union([Name, Type.Null()])),
    domain: Type.Optional(Type.Union([Domain, Type.Null()])),
    encryption_salt: Type.Optional(Type.Union([Salt, Type.Null()])),
    owner_id: Type.Optional(Type.Unknown()),
    frozen: Type.Optional(Type.Unknown()),
    ...ReadOnlyEcho,
  },
  { additionalProperties: false },
);

export function workspaceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;

  app.get(
    '/workspaces',
    {
      config: { scope: 'WORKSPACE', access: 'user' },
      schema: { querystring: AuthQuery, response: { 200: WorkspaceList } },
    },
    async (request) => {
      const principal = principalOf(request);
      const restrictions = principal.workspaceRestrictions;
      const mine = principal.user.admin === 1 ? null : await memberWorkspaceIds(db, principal.user.id);
      const rows = (await listWorkspaces(db)).filter(
        (w) =>
          (restrictions === null || restrictions.includes(w.domain)) && (mine === null || mine.has(w.id)),
      );
      return { ...urls.pair('/workspaces'), workspaces: rows.map((w) => presentWorkspace(urls, w)) };
    },
  );

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/workspaces',
    {
      config: { scope: 'WORKSPACES_MANAGE', access: 'user' },
      schema: { body: CreateBody, querystring: AuthQuery, response: { 201: Workspace } },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.workspaceRestrictions !== null)
        throw forbidden('a workspace-restricted token cannot create workspaces');
      if (await getWorkspace(db, request.body.domain))
        throw conflict(`workspace domain "${request.body.domain}" is taken`);
      const { domain, name, encryption_salt } = request.body;
      // Buddy's clients create a workspace with only its domain; the name starts as the domain.
      const ws = await db.transaction().execute(async (trx) => {
        const created = await createWorkspace(trx, {
          domain,
          name: name ?? domain,
          ownerId: principal.user.id,
          encryptionSalt: encryption_salt ?? null,
        });
        await addGeneratedSshKey(trx, ctx.secrets, { workspaceId: created.id }, `gantry-${domain}`);
        return created;
      });
      return reply.status(201).send(presentWorkspace(urls, ws));
    },
  );

  app.get<{ Params: Static<typeof WorkspaceParams> }>(
    '/workspaces/:workspace',
    {
      config: { scope: 'WORKSPACE', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: AuthQuery, response: { 200: Workspace } },
    },
    async (request) => presentWorkspace(urls, await loadWorkspace(db, request, request.params.workspace)),
  );

  app.patch<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof PatchBody> }>(
    '/workspaces/:workspace',
    {
      config: { scope: 'WORKSPACES_MANAGE', access: 'workspace:MANAGE' },
      schema: {
        params: WorkspaceParams,
        body: PatchBody,
        querystring: AuthQuery,
        response: { 200: Workspace },
      },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const { name, domain, encryption_salt } = request.body;
      if (domain !== undefined && domain !== null && domain !== ws.domain) {
        if (await getWorkspace(db, domain)) throw conflict(`workspace domain "${domain}" is taken`);
        if (await hasActiveExecutions(db, { workspaceId: ws.id }))
          throw conflict('workspace has executions in progress; its domain cannot change now');
      }
      // Absent or null: unchanged (Buddy's clients send null for what they do not change).
      const patch: { name?: string; domain?: string; encryption_salt?: string } = {};
      if (name !== undefined && name !== null) patch.name = name;
      if (domain !== undefined && domain !== null) patch.domain = domain;
      if (encryption_salt !== undefined && encryption_salt !== null) patch.encryption_salt = encryption_salt;
      return presentWorkspace(urls, Object.keys(patch).length ? await updateWorkspace(db, ws.id, patch) : ws);
    },
  );

  app.delete<{ Params: Static<typeof WorkspaceParams> }>(
    '/workspaces/:workspace',
    {
      config: { scope: 'WORKSPACES_MANAGE', access: 'workspace:MANAGE' },
      schema: { params: WorkspaceParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      if (await hasActiveExecutions(db, { workspaceId: ws.id })) {
        throw conflict('workspace has executions queued or in progress; cancel them first');
      }
      const projects = await listProjectIds(db, ws.id);
      await deleteWorkspace(db, ws.id);
      await ctx.repositories.forget(projects);
      return reply.status(204).send();
    },
  );
}
