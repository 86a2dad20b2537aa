import type { FastifyInstance } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  CUSTOM_SET_DEFAULTS,
  PERMISSION_FIELDS,
  type PermissionField,
  type PermissionLevels,
} from '../../domain/access-levels.ts';
import type { Db } from '../../store/database.ts';
import {
  createPermissionSet,
  deletePermissionSet,
  getPermissionSet,
  listPermissionSets,
  permissionSetUses,
  updatePermissionSet,
} from '../../store/permission-sets.ts';
import type { PermissionSetRow, WorkspaceRow } from '../../store/schema.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { loadWorkspace, numericId } from '../lookup.ts';
import { presentPermissionSet } from '../present/team.ts';
import { AuthQuery, OneOf, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { PermissionSet, PermissionSetList } from '../schemas/team.ts';

const FIELDS = Object.keys(PERMISSION_FIELDS) as PermissionField[];
const levelSchemas: Record<string, TSchema> = {};
for (const f of FIELDS)
  levelSchemas[f] = Type.Optional(Type.Union([OneOf(PERMISSION_FIELDS[f]), Type.Null()]));
const Body = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()])),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    ...levelSchemas,
    type: Type.Optional(Type.Unknown()),
    ...ReadOnlyEcho,
  },
  { additionalProperties: false },
);
type SetBody = Static<typeof Body> &
  Partial<Record<PermissionField, PermissionLevels[PermissionField] | null>>;
const SetParams = Type.Object({
  ...WorkspaceParams.properties,
  permission_id: Type.String({ maxLength: 32 }),
});

/** The permission set with the given id in the workspace, or 404. */
export async function loadPermissionSet(
  db: Db,
  ws: WorkspaceRow,
  id: string | number | undefined,
): Promise<PermissionSetRow> {
  const set = await getPermissionSet(
    db,
    ws.id,
    typeof id === 'number' ? id : numericId(id, 'permission set'),
  );
  if (!set) throw notFound(`permission set ${id ?? ''} not found in workspace "${ws.domain}"`);
  return set;
}

/** Permission sets: three built-in ones per workspace (read-only here) and custom ones. */
export function permissionSetRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/permissions';

  app.get<{ Params: Static<typeof WorkspaceParams> }>(
    base,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: AuthQuery, response: { 200: PermissionSetList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/permissions`),
        permission_sets: (await listPermissionSets(db, ws.id)).map((s) => presentPermissionSet(urls, ws, s)),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: SetBody }>(
    base,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:MANAGE' },
      schema: {
        params: WorkspaceParams,
        body: Body,
        querystring: AuthQuery,
        response: { 201: PermissionSet },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const body = request.body ?? {};
      if (typeof body.name !== 'string') throw badRequest('field "name" is required');
      const levels = { ...CUSTOM_SET_DEFAULTS };
      for (const f of FIELDS) {
        const value = body[f];
        if (value !== undefined && value !== null) levels[f] = value;
      }
      const set = await createPermissionSet(db, {
        workspaceId: ws.id,
        name: body.name,
        description: body.description ?? '',
        type: 'CUSTOM',
        levels,
      });
      return reply.status(201).send(presentPermissionSet(urls, ws, set));
    },
  );

  app.get<{ Params: Static<typeof SetParams> }>(
    `${base}/:permission_id`,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:READ_ONLY' },
      schema: { params: SetParams, querystring: AuthQuery, response: { 200: PermissionSet } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      return presentPermissionSet(urls, ws, await loadPermissionSet(db, ws, request.params.permission_id));
    },
  );

  app.patch<{ Params: Static<typeof SetParams>; Body: SetBody }>(
    `${base}/:permission_id`,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:MANAGE' },
      schema: { params: SetParams, body: Body, querystring: AuthQuery, response: { 200: PermissionSet } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const set = await loadPermissionSet(db, ws, request.params.permission_id);
      if (set.type !== 'CUSTOM')
        throw badRequest(`the built-in permission set "${set.name}" cannot be changed`);
      const body = request.body ?? {};
      const patch: Partial<PermissionSetRow> = {};
      if (body.name !== undefined && body.name !== null) patch.name = body.name;
      if (body.description !== undefined && body.description !== null) patch.description = body.description;
      for (const f of FIELDS) {
        const value = body[f];
        if (value !== undefined && value !== null) patch[f] = value;
      }
      return presentPermissionSet(urls, ws, await updatePermissionSet(db, set.id, patch));
    },
  );

  app.delete<{ Params: Static<typeof SetParams> }>(
    `${base}/:permission_id`,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:MANAGE' },
      schema: { params: SetParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const set = await loadPermissionSet(db, ws, request.params.permission_id);
      if (set.type !== 'CUSTOM')
        throw badRequest(`the built-in permission set "${set.name}" cannot be deleted`);
      const uses = await permissionSetUses(db, set.id);
      if (uses > 0)
        throw conflict(
          `permission set "${set.name}" is held by ${uses} project member(s) or group(s); reassign them first`,
        );
      await deletePermissionSet(db, set.id);
      return reply.status(204).send();
    },
  );
}
