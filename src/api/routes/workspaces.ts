import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { hasActiveExecutions } from '../../store/executions.ts';
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
import { AuthQuery, Name, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';

const Domain = Type.String({ minLength: 2, maxLength: 100, pattern: '^[a-z0-9][a-z0-9-]*$' });
const CreateBody = Type.Object({ name: Name, domain: Domain }, { additionalProperties: false });
const PatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    domain: Type.Optional(Domain),
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
    { config: { scope: 'WORKSPACE' }, schema: { querystring: AuthQuery } },
    async (request) => {
      const restrictions = principalOf(request).workspaceRestrictions;
      const rows = (await listWorkspaces(db)).filter(
        (w) => restrictions === null || restrictions.includes(w.domain),
      );
      return { ...urls.pair('/workspaces'), workspaces: rows.map((w) => presentWorkspace(urls, w)) };
    },
  );

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/workspaces',
    { config: { scope: 'WORKSPACES_MANAGE' }, schema: { body: CreateBody, querystring: AuthQuery } },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.workspaceRestrictions !== null)
        throw forbidden('a workspace-restricted token cannot create workspaces');
      if (await getWorkspace(db, request.body.domain))
        throw conflict(`workspace domain "${request.body.domain}" is taken`);
      const ws = await createWorkspace(db, { ...request.body, ownerId: principal.user.id });
      return reply.status(201).send(presentWorkspace(urls, ws));
    },
  );

  app.get<{ Params: Static<typeof WorkspaceParams> }>(
    '/workspaces/:workspace',
    { config: { scope: 'WORKSPACE' }, schema: { params: WorkspaceParams, querystring: AuthQuery } },
    async (request) => presentWorkspace(urls, await loadWorkspace(db, request, request.params.workspace)),
  );

  app.patch<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof PatchBody> }>(
    '/workspaces/:workspace',
    {
      config: { scope: 'WORKSPACES_MANAGE' },
      schema: { params: WorkspaceParams, body: PatchBody, querystring: AuthQuery },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const { name, domain } = request.body;
      if (domain !== undefined && domain !== ws.domain) {
        if (await getWorkspace(db, domain)) throw conflict(`workspace domain "${domain}" is taken`);
        if (await hasActiveExecutions(db, { workspaceId: ws.id }))
          throw conflict('workspace has executions in progress; its domain cannot change now');
      }
      const patch: { name?: string; domain?: string } = {};
      if (name !== undefined) patch.name = name;
      if (domain !== undefined) patch.domain = domain;
      return presentWorkspace(urls, Object.keys(patch).length ? await updateWorkspace(db, ws.id, patch) : ws);
    },
  );

  app.delete<{ Params: Static<typeof WorkspaceParams> }>(
    '/workspaces/:workspace',
    { config: { scope: 'WORKSPACES_MANAGE' }, schema: { params: WorkspaceParams, querystring: AuthQuery } },
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
