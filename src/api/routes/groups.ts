import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Db } from '../../store/database.ts';
import {
  createGroup,
  deleteGroup,
  getGroup,
  getGroupMember,
  listGroupMembers,
  listGroups,
  putGroupMember,
  removeGroupMember,
  updateGroup,
  type GroupFields,
} from '../../store/groups.ts';
import { listMembers } from '../../store/members.ts';
import type { MemberGroupRow, WorkspaceRow } from '../../store/schema.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, notFound } from '../errors.ts';
import { loadWorkspace, numericId } from '../lookup.ts';
import { presentGroup, presentWorkspaceMember } from '../present/team.ts';
import { AuthQuery, OneOf, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { checkAutoAssign, loadMember } from './members.ts';
import { Group, GroupList, GroupMember, GroupMemberList } from '../schemas/team.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) =>
  Type.Optional(Type.Union([t, Type.Null()]));
const GroupBody = Type.Object(
  {
    name: Nullable(Type.String({ minLength: 1, maxLength: 255 })),
    description: Nullable(Type.String({ maxLength: 1000 })),
    auto_assign_to_new_projects: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    auto_assign_permission_set_id: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    ...ReadOnlyEcho,
  },
  { additionalProperties: false },
);
const Status = OneOf(['MEMBER', 'MANAGER'] as const);
const AddMemberBody = Type.Object(
  { id: Type.Integer({ minimum: 1 }), status: Type.Optional(Type.Union([Status, Type.Null()])) },
  { additionalProperties: true },
);
const PatchMemberBody = Type.Object({ status: Status }, { additionalProperties: true });
const GroupParams = Type.Object({ ...WorkspaceParams.properties, group_id: Type.String({ maxLength: 32 }) });
const GroupMemberParams = Type.Object({
  ...GroupParams.properties,
  member_id: Type.String({ maxLength: 32 }),
});

/** The group with the given id in the workspace, or 404. */
export async function loadGroup(
  db: Db,
  ws: WorkspaceRow,
  id: string | number | undefined,
): Promise<MemberGroupRow> {
  const group = await getGroup(db, ws.id, typeof id === 'number' ? id : numericId(id, 'group'));
  if (!group) throw notFound(`group ${id ?? ''} not found in workspace "${ws.domain}"`);
  return group;
}

/** Groups of workspace members and their members (status MEMBER or MANAGER). */
export function groupRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/groups';
  const read = { scope: 'WORKSPACE', access: 'workspace:READ_ONLY' } as const;
  const manage = { scope: 'WORKSPACE', access: 'workspace:MANAGE' } as const;

  app.get<{ Params: Static<typeof WorkspaceParams> }>(
    base,
    {
      config: read,
      schema: { params: WorkspaceParams, querystring: AuthQuery, response: { 200: GroupList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/groups`),
        groups: (await listGroups(db, ws.id)).map((g) => presentGroup(urls, ws, g)),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof GroupBody> }>(
    base,
    {
      config: manage,
      schema: { params: WorkspaceParams, body: GroupBody, querystring: AuthQuery, response: { 201: Group } },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const body = request.body ?? {};
      if (typeof body.name !== 'string') throw badRequest('field "name" is required');
      const fields: GroupFields = {
        name: body.name,
        description: body.description ?? '',
        auto_assign_to_new_projects: body.auto_assign_to_new_projects ? 1 : 0,
        auto_assign_permission_set_id: body.auto_assign_permission_set_id ?? null,
      };
      await checkAutoAssign(
        db,
        ws,
        fields.auto_assign_to_new_projects === 1,
        fields.auto_assign_permission_set_id,
      );
      return reply.status(201).send(presentGroup(urls, ws, await createGroup(db, ws.id, fields)));
    },
  );

  app.get<{ Params: Static<typeof GroupParams> }>(
    `${base}/:group_id`,
    { config: read, schema: { params: GroupParams, querystring: AuthQuery, response: { 200: Group } } },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      return presentGroup(urls, ws, await loadGroup(db, ws, request.params.group_id));
    },
  );

  app.patch<{ Params: Static<typeof GroupParams>; Body: Static<typeof GroupBody> }>(
    `${base}/:group_id`,
    {
      config: manage,
      schema: { params: GroupParams, body: GroupBody, querystring: AuthQuery, response: { 200: Group } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const group = await loadGroup(db, ws, request.params.group_id);
      const body = request.body ?? {};
      const patch: Partial<GroupFields> = {};
      if (body.name !== undefined && body.name !== null) patch.name = body.name;
      if (body.description !== undefined && body.description !== null) patch.description = body.description;
      if (body.auto_assign_to_new_projects !== undefined && body.auto_assign_to_new_projects !== null)
        patch.auto_assign_to_new_projects = body.auto_assign_to_new_projects ? 1 : 0;
      if (body.auto_assign_permission_set_id !== undefined && body.auto_assign_permission_set_id !== null)
        patch.auto_assign_permission_set_id = body.auto_assign_permission_set_id;
      await checkAutoAssign(
        db,
        ws,
        (patch.auto_assign_to_new_projects ?? group.auto_assign_to_new_projects) === 1,
        patch.auto_assign_permission_set_id ?? group.auto_assign_permission_set_id,
      );
      return presentGroup(urls, ws, await updateGroup(db, group.id, patch));
    },
  );

  app.delete<{ Params: Static<typeof GroupParams> }>(
    `${base}/:group_id`,
    { config: manage, schema: { params: GroupParams, querystring: AuthQuery } },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      await deleteGroup(db, (await loadGroup(db, ws, request.params.group_id)).id);
      return reply.status(204).send();
    },
  );

  const memberPath = (ws: WorkspaceRow, groupId: number, userId: number): string =>
    `${urls.workspace(ws.domain)}/groups/${groupId}/members/${userId}`;

  app.get<{ Params: Static<typeof GroupParams> }>(
    `${base}/:group_id/members`,
    {
      config: read,
      schema: { params: GroupParams, querystring: AuthQuery, response: { 200: GroupMemberList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const group = await loadGroup(db, ws, request.params.group_id);
      const statuses = new Map((await listGroupMembers(db, group.id)).map((m) => [m.user_id, m.status]));
      const members = (await listMembers(db, ws.id)).filter((m) => statuses.has(m.user.id));
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/groups/${group.id}/members`),
        members: members.map((m) => ({
          ...presentWorkspaceMember(urls, ws, m, memberPath(ws, group.id, m.user.id)),
          status: statuses.get(m.user.id),
        })),
      };
    },
  );

  app.post<{ Params: Static<typeof GroupParams>; Body: Static<typeof AddMemberBody> }>(
    `${base}/:group_id/members`,
    {
      config: manage,
      schema: {
        params: GroupParams,
        body: AddMemberBody,
        querystring: AuthQuery,
        response: { 201: GroupMember },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const group = await loadGroup(db, ws, request.params.group_id);
      const member = await loadMember(db, ws, String(request.body.id));
      const status = request.body.status ?? 'MEMBER';
      await putGroupMember(db, group.id, member.user.id, status);
      return reply.status(201).send({
        ...presentWorkspaceMember(urls, ws, member, memberPath(ws, group.id, member.user.id)),
        status,
      });
    },
  );

  const loadGroupMember = async (ws: WorkspaceRow, p: Static<typeof GroupMemberParams>) => {
    const group = await loadGroup(db, ws, p.group_id);
    const member = await loadMember(db, ws, p.member_id);
    const entry = await getGroupMember(db, group.id, member.user.id);
    if (!entry) throw notFound(`member ${p.member_id} is not in group ${group.id}`);
    return { group, member, status: entry.status };
  };

  app.get<{ Params: Static<typeof GroupMemberParams> }>(
    `${base}/:group_id/members/:member_id`,
    {
      config: read,
      schema: { params: GroupMemberParams, querystring: AuthQuery, response: { 200: GroupMember } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const { group, member, status } = await loadGroupMember(ws, request.params);
      return {
        ...presentWorkspaceMember(urls, ws, member, memberPath(ws, group.id, member.user.id)),
        status,
      };
    },
  );

  app.patch<{ Params: Static<typeof GroupMemberParams>; Body: Static<typeof PatchMemberBody> }>(
    `${base}/:group_id/members/:member_id`,
    {
      config: manage,
      schema: {
        params: GroupMemberParams,
        body: PatchMemberBody,
        querystring: AuthQuery,
        response: { 200: GroupMember },
      },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const { group, member } = await loadGroupMember(ws, request.params);
      await putGroupMember(db, group.id, member.user.id, request.body.status);
      return {
        ...presentWorkspaceMember(urls, ws, member, memberPath(ws, group.id, member.user.id)),
        status: request.body.status,
      };
    },
  );

  app.delete<{ Params: Static<typeof GroupMemberParams> }>(
    `${base}/:group_id/members/:member_id`,
    { config: manage, schema: { params: GroupMemberParams, querystring: AuthQuery } },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const { group, member } = await loadGroupMember(ws, request.params);
      await removeGroupMember(db, group.id, member.user.id);
      return reply.status(204).send();
    },
  );
}
