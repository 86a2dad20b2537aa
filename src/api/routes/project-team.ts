import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Db } from '../../store/database.ts';
import { getUsers } from '../../store/identity.ts';
import { listMembers, type Member } from '../../store/members.ts';
import { getPermissionSetsByIds } from '../../store/permission-sets.ts';
import {
  getProjectGroup,
  getProjectMember,
  listProjectGroups,
  listProjectMembers,
  putProjectGroup,
  putProjectMember,
  removeProjectGroup,
  removeProjectMember,
  type ProjectGrant,
} from '../../store/project-team.ts';
import type { ProjectRow, WorkspaceRow } from '../../store/schema.ts';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { loadProject, numericId, pageOf } from '../lookup.ts';
import { presentGroup, presentPermissionSet, presentWorkspaceMember } from '../present/team.ts';
import { AuthQuery, PageQuery, ProjectParams } from '../schemas/common.ts';
import { loadGroup } from './groups.ts';
import { loadMember } from './members.ts';
import { loadPermissionSet } from './permission-sets.ts';

const SetRef = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: true });
const AddBody = Type.Object(
  { id: Type.Integer({ minimum: 1 }), permission_set: SetRef },
  { additionalProperties: true },
);
const PatchBody = Type.Object({ permission_set: SetRef }, { additionalProperties: true });
const MemberParams = Type.Object({ ...ProjectParams.properties, member_id: Type.String({ maxLength: 32 }) });
const GroupParams = Type.Object({ ...ProjectParams.properties, group_id: Type.String({ maxLength: 32 }) });

/** Project members and project groups, each holding one permission set in the project. */
export function projectTeamRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/projects/:project_name';
  const read = { scope: 'WORKSPACE', access: 'team:READ_ONLY' } as const;
  const manage = { scope: 'WORKSPACE', access: 'team:MANAGE' } as const;

  /** Project members as Buddy shows them: the member's fields flattened plus the full permission set. */
  async function present(ws: WorkspaceRow, project: ProjectRow, grants: ProjectGrant[]) {
    const sets = await getPermissionSetsByIds(
      db,
      grants.map((g) => g.permission_set_id),
    );
    const members = new Map((await listMembers(db, ws.id)).map((m) => [m.user.id, m]));
    const users = await getUsers(
      db,
      grants.map((g) => g.id),
    );
    return grants.flatMap((g) => {
      const user = users.get(g.id);
      const set = sets.get(g.permission_set_id);
      if (!user || !set) return [];
      const member: Member = members.get(g.id) ?? {
        user,
        membership: {
          workspace_id: ws.id,
          user_id: user.id,
          admin: 0,
          auto_assign_to_new_projects: 0,
          auto_assign_permission_set_id: null,
          create_date: user.create_date,
        },
      };
      const path = `${urls.project(ws.domain, project.name)}/members/${user.id}`;
      return [
        {
          ...presentWorkspaceMember(urls, ws, member, path),
          permission_set: presentPermissionSet(urls, ws, set),
        },
      ];
    });
  }

  async function presentGroups(ws: WorkspaceRow, project: ProjectRow, grants: ProjectGrant[]) {
    const sets = await getPermissionSetsByIds(
      db,
      grants.map((g) => g.permission_set_id),
    );
    const out = [];
    for (const g of grants) {
      const group = await loadGroup(db, ws, g.id);
      const set = sets.get(g.permission_set_id);
      if (!set) continue;
      const path = `${urls.project(ws.domain, project.name)}/groups/${group.id}`;
      out.push({
        ...presentGroup(urls, ws, group, path),
        permission_set: presentPermissionSet(urls, ws, set),
      });
    }
    return out;
  }

  async function oneMember(db: Db, ws: WorkspaceRow, project: ProjectRow, id: string) {
    const grant = await getProjectMember(db, project.id, numericId(id, 'member'));
    if (!grant) throw notFound(`member ${id} not found in project "${project.name}"`);
    const [shown] = await present(ws, project, [grant]);
    if (!shown) throw notFound(`member ${id} not found in project "${project.name}"`);
    return shown;
  }

  /** The workspace and project a project-team route names (404 when hidden from the caller). */
  function projectOf(request: FastifyRequest<{ Params: Static<typeof ProjectParams> }>) {
    return loadProject(db, request, request.params.workspace, request.params.project_name);
  }

  async function oneGroup(db: Db, ws: WorkspaceRow, project: ProjectRow, id: string) {
    const grant = await getProjectGroup(db, project.id, numericId(id, 'group'));
    if (!grant) throw notFound(`group ${id} not found in project "${project.name}"`);
    const [shown] = await presentGroups(ws, project, [grant]);
    if (!shown) throw notFound(`group ${id} not found in project "${project.name}"`);
    return shown;
  }

  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof PageQuery> }>(
    `${base}/members`,
    { config: read, schema: { params: ProjectParams, querystring: PageQuery } },
    async (request) => {
      const { ws, project } = await projectOf(request);
      const grants = await listProjectMembers(db, project.id, pageOf(request.query));
      return {
        ...urls.pair(`${urls.project(ws.domain, project.name)}/members`),
        members: await present(ws, project, grants),
      };
    },
  );

  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof AddBody> }>(
    `${base}/members`,
    { config: manage, schema: { params: ProjectParams, body: AddBody, querystring: AuthQuery } },
    async (request, reply) => {
      const { ws, project } = await projectOf(request);
      const member = await loadMember(db, ws, String(request.body.id));
      const set = await loadPermissionSet(db, ws, request.body.permission_set.id);
      await putProjectMember(db, project.id, member.user.id, set.id);
      return reply.status(201).send(await oneMember(db, ws, project, String(member.user.id)));
    },
  );

  app.get<{ Params: Static<typeof MemberParams> }>(
    `${base}/members/:member_id`,
    { config: read, schema: { params: MemberParams, querystring: AuthQuery } },
    async (request) => {
      const { ws, project } = await projectOf(request);
      return oneMember(db, ws, project, request.params.member_id);
    },
  );

  app.patch<{ Params: Static<typeof MemberParams>; Body: Static<typeof PatchBody> }>(
    `${base}/members/:member_id`,
    { config: manage, schema: { params: MemberParams, body: PatchBody, querystring: AuthQuery } },
    async (request) => {
      const { ws, project } = await projectOf(request);
      await oneMember(db, ws, project, request.params.member_id);
      const set = await loadPermissionSet(db, ws, request.body.permission_set.id);
      await putProjectMember(db, project.id, numericId(request.params.member_id, 'member'), set.id);
      return oneMember(db, ws, project, request.params.member_id);
    },
  );

  app.delete<{ Params: Static<typeof MemberParams> }>(
    `${base}/members/:member_id`,
    { config: manage, schema: { params: MemberParams, querystring: AuthQuery } },
    async (request, reply) => {
      const { ws, project } = await projectOf(request);
      await oneMember(db, ws, project, request.params.member_id);
      await removeProjectMember(db, project.id, numericId(request.params.member_id, 'member'));
      return reply.status(204).send();
    },
  );

  app.get<{ Params: Static<typeof ProjectParams> }>(
    `${base}/groups`,
    { config: read, schema: { params: ProjectParams, querystring: AuthQuery } },
    async (request) => {
      const { ws, project } = await projectOf(request);
      return {
        ...urls.pair(`${urls.project(ws.domain, project.name)}/groups`),
        groups: await presentGroups(ws, project, await listProjectGroups(db, project.id)),
      };
    },
  );

  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof AddBody> }>(
    `${base}/groups`,
    { config: manage, schema: { params: ProjectParams, body: AddBody, querystring: AuthQuery } },
    async (request, reply) => {
      const { ws, project } = await projectOf(request);
      const group = await loadGroup(db, ws, request.body.id);
      const set = await loadPermissionSet(db, ws, request.body.permission_set.id);
      await putProjectGroup(db, project.id, group.id, set.id);
      return reply.status(201).send(await oneGroup(db, ws, project, String(group.id)));
    },
  );

  app.get<{ Params: Static<typeof GroupParams> }>(
    `${base}/groups/:group_id`,
    { config: read, schema: { params: GroupParams, querystring: AuthQuery } },
    async (request) => {
      const { ws, project } = await projectOf(request);
      return oneGroup(db, ws, project, request.params.group_id);
    },
  );

  app.patch<{ Params: Static<typeof GroupParams>; Body: Static<typeof PatchBody> }>(
    `${base}/groups/:group_id`,
    { config: manage, schema: { params: GroupParams, body: PatchBody, querystring: AuthQuery } },
    async (request) => {
      const { ws, project } = await projectOf(request);
      await oneGroup(db, ws, project, request.params.group_id);
      const set = await loadPermissionSet(db, ws, request.body.permission_set.id);
      await putProjectGroup(db, project.id, numericId(request.params.group_id, 'group'), set.id);
      return oneGroup(db, ws, project, request.params.group_id);
    },
  );

  app.delete<{ Params: Static<typeof GroupParams> }>(
    `${base}/groups/:group_id`,
    { config: manage, schema: { params: GroupParams, querystring: AuthQuery } },
    async (request, reply) => {
      const { ws, project } = await projectOf(request);
      await oneGroup(db, ws, project, request.params.group_id);
      await removeProjectGroup(db, project.id, numericId(request.params.group_id, 'group'));
      return reply.status(204).send();
    },
  );
}
