import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { createUser, findUserByEmailAddress } from '../../store/identity.ts';
import {
  addMembership,
  createPasswordLink,
  getMember,
  listMembers,
  removeMember,
  updateMembership,
} from '../../store/members.ts';
import { getPermissionSet } from '../../store/permission-sets.ts';
import type { WorkspaceMemberRow, WorkspaceRow } from '../../store/schema.ts';
import type { Db } from '../../store/database.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { loadWorkspace, numericId, pageOf } from '../lookup.ts';
import { presentWorkspaceMember } from '../present/team.ts';
import { AuthQuery, PageQuery, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { WorkspaceMember, WorkspaceMemberList } from '../schemas/team.ts';

export const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });
const InviteBody = Type.Object({ email: Email }, { additionalProperties: false });
const PatchBody = Type.Object(
  {
    admin: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    auto_assign_to_new_projects: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    auto_assign_permission_set_id: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    name: Type.Optional(Type.Unknown()),
    email: Type.Optional(Type.Unknown()),
    avatar_url: Type.Optional(Type.Unknown()),
    workspace_owner: Type.Optional(Type.Unknown()),
    ...ReadOnlyEcho,
  },
  { additionalProperties: false },
);
export const MemberParams = Type.Object({
  ...WorkspaceParams.properties,
  member_id: Type.String({ maxLength: 32 }),
});

/** The workspace member with the given id (a user id), or 404. */
export async function loadMember(db: Db, ws: WorkspaceRow, id: string | undefined) {
  const member = await getMember(db, ws.id, numericId(id, 'member'));
  if (!member) throw notFound(`member ${id ?? ''} not found in workspace "${ws.domain}"`);
  return member;
}

/** Checks auto-assignment: a set must be named (now or before) and belong to the workspace. */
export async function checkAutoAssign(
  db: Db,
  ws: WorkspaceRow,
  enabled: boolean,
  setId: number | null,
): Promise<void> {
  if (!enabled) return;
  if (setId === null) throw badRequest('auto_assign_to_new_projects needs auto_assign_permission_set_id');
  if (!(await getPermissionSet(db, ws.id, setId)))
    throw badRequest(`auto_assign_permission_set_id: permission set ${setId} not found`);
}

/**
 * Workspace members. Inviting an e-mail address makes it a user of this server (when it is not one
 * already) and a member of the workspace; a new user gets a one-time link to set a password, returned
 * to the inviting admin as `invitation_url` (Gantry sends no e-mail).
 */
export function memberRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/members';

  app.get<{ Params: Static<typeof WorkspaceParams>; Querystring: Static<typeof PageQuery> }>(
    base,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: PageQuery, response: { 200: WorkspaceMemberList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const members = await listMembers(db, ws.id, pageOf(request.query));
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/members`),
        members: members.map((m) => presentWorkspaceMember(urls, ws, m)),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof InviteBody> }>(
    base,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:MANAGE' },
      schema: {
        params: WorkspaceParams,
        body: InviteBody,
        querystring: AuthQuery,
        response: { 201: WorkspaceMember },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const email = request.body.email.trim().toLowerCase();
      let user = await findUserByEmailAddress(db, email);
      if (user && (await getMember(db, ws.id, user.id)))
        throw conflict(`${email} is already a member of workspace "${ws.domain}"`);
      let invitationUrl: string | undefined;
      await db.transaction().execute(async (trx) => {
        user ??= await createUser(trx, { name: email.split('@')[0] ?? email, email, admin: false });
        await addMembership(trx, { workspaceId: ws.id, userId: user.id, admin: false });
        if (user.password_hash === null)
          invitationUrl = urls.passwordLink(await createPasswordLink(trx, user.id));
      });
      const member = await loadMember(db, ws, String(user!.id));
      return reply.status(201).send({
        ...presentWorkspaceMember(urls, ws, member),
        ...(invitationUrl ? { invitation_url: invitationUrl } : {}),
      });
    },
  );

  app.get<{ Params: Static<typeof MemberParams> }>(
    `${base}/:member_id`,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:READ_ONLY' },
      schema: { params: MemberParams, querystring: AuthQuery, response: { 200: WorkspaceMember } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      return presentWorkspaceMember(urls, ws, await loadMember(db, ws, request.params.member_id));
    },
  );

  app.patch<{ Params: Static<typeof MemberParams>; Body: Static<typeof PatchBody> }>(
    `${base}/:member_id`,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:MANAGE' },
      schema: {
        params: MemberParams,
        body: PatchBody,
        querystring: AuthQuery,
        response: { 200: WorkspaceMember },
      },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const member = await loadMember(db, ws, request.params.member_id);
      const body = request.body ?? {};
      const patch: Partial<WorkspaceMemberRow> = {};
      if (body.admin !== undefined && body.admin !== null) {
        if (!body.admin && member.user.id === ws.owner_id)
          throw badRequest('the workspace owner is always an administrator');
        patch.admin = body.admin ? 1 : 0;
      }
      if (body.auto_assign_permission_set_id !== undefined && body.auto_assign_permission_set_id !== null)
        patch.auto_assign_permission_set_id = body.auto_assign_permission_set_id;
      if (body.auto_assign_to_new_projects !== undefined && body.auto_assign_to_new_projects !== null)
        patch.auto_assign_to_new_projects = body.auto_assign_to_new_projects ? 1 : 0;
      await checkAutoAssign(
        db,
        ws,
        (patch.auto_assign_to_new_projects ?? member.membership.auto_assign_to_new_projects) === 1,
        patch.auto_assign_permission_set_id ?? member.membership.auto_assign_permission_set_id,
      );
      await updateMembership(db, ws.id, member.user.id, patch);
      return presentWorkspaceMember(urls, ws, await loadMember(db, ws, request.params.member_id));
    },
  );

  app.delete<{ Params: Static<typeof MemberParams> }>(
    `${base}/:member_id`,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:MANAGE' },
      schema: { params: MemberParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const member = await loadMember(db, ws, request.params.member_id);
      if (member.user.id === ws.owner_id) throw conflict('the workspace owner cannot be removed');
      await removeMember(db, ws.id, member.user.id);
      return reply.status(204).send();
    },
  );
}
