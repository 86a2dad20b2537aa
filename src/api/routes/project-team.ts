import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Db } from '../../store/database.ts';
import { getUsers } from '../../store/identity.ts';
import { listGroupsByIds } from '../../store/groups.ts';
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
import type { PermissionSetRow, ProjectRow, WorkspaceRow } from '../../store/schema.ts';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { loadProject, numericId, pageOf } from '../lookup.ts';
import { presentGroup, presentPermissionSet, presentWorkspaceMember } from '../present/team.ts';
import type { Urls } from '../present/urls.ts';
import { AuthQuery, PageQuery, ProjectParams } from '../schemas/common.ts';
import { ProjectGroup, ProjectGroupList, ProjectMember, ProjectMemberList } from '../schemas/team.ts';
import { loadGroup } from './groups.ts';
import { loadMember } from './members.ts';
import { loadPermissionSet } from './permission-sets.ts';

const SetRef = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: true });
const AddBody = Type.Object(
  { id: Type.Integer({ minimum: 1 }), permission_set: SetRef },
  { additionalProperties: true },
);
const PatchBody = Type.Object({ permission_set: SetRef }, { additionalProperties: true });

type Params = Static<typeof ProjectParams> & Record<string, string>;

/**
 * One kind of project team entry: members (workspace members) or groups (workspace groups), each
 * holding one permission set in the project. Both kinds have the same five routes (see projectTeamRoutes).
 */
interface TeamKind {
  /** Path segment under the project and the list's key: `members` or `groups`. */
  segment: 'members' | 'groups';
  noun: 'member' | 'group';
  param: 'member_id' | 'group_id';
  item: TSchema;
  list: TSchema;
  grants: {
    list(db: Db, projectId: number, page: { limit: number; offset: number }): Promise<ProjectGrant[]>;
    get(db: Db, projectId: number, id: number): Promise<ProjectGrant | undefined>;
    put(db: Db, projectId: number, id: number, setId: number): Promise<void>;
    remove(db: Db, projectId: number, id: number): Promise<void>;
  };
  /** The id of the workspace member or group a POST names (404 when the workspace has none such). */
  resolve(db: Db, ws: WorkspaceRow, id: number): Promise<number>;
  /** Grants as Buddy shows them: the member's or group's own fields plus the full permission set. */
  present(
    db: Db,
    urls: Urls,
    ws: WorkspaceRow,
    project: ProjectRow,
    grants: ProjectGrant[],
    sets: Map<number, PermissionSetRow>,
  ): Promise<Record<string, unknown>[]>;
}

const MEMBERS: TeamKind = {
  segment: 'members',
  noun: 'member',
  param: 'member_id',
  item: ProjectMember,
  list: ProjectMemberList,
  grants: {
    list: listProjectMembers,
    get: getProjectMember,
    put: putProjectMember,
    remove: removeProjectMember,
  },
  resolve: async (db, ws, id) => (await loadMember(db, ws, String(id))).user.id,
  async present(db, urls, ws, project, grants, sets) {
    const members = new Map((await listMembers(db, ws.id)).map((m) => [m.user.id, m]));
    const users = await getUsers(
      db,
      grants.map((g) => g.id),
    );
    return grants.flatMap((g) => {
      const user = users.get(g.id);
      const set = sets.get(g.permission_set_id);
      if (!user || !set) return [];
      // A project member who has since left the workspace shows as a plain member.
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
  },
};

const GROUPS: TeamKind = {
  segment: 'groups',
  noun: 'group',
  param: 'group_id',
  item: ProjectGroup,
  list: ProjectGroupList,
  grants: {
    list: listProjectGroups,
    get: getProjectGroup,
    put: putProjectGroup,
    remove: removeProjectGroup,
  },
  resolve: async (db, ws, id) => (await loadGroup(db, ws, id)).id,
  async present(db, urls, ws, project, grants, sets) {
    const groups = await listGroupsByIds(
      db,
      ws.id,
      grants.map((g) => g.id),
    );
    return grants.flatMap((g) => {
      const group = groups.get(g.id);
      const set = sets.get(g.permission_set_id);
      if (!group || !set) return [];
      const path = `${urls.project(ws.domain, project.name)}/groups/${group.id}`;
      return [
        {
          ...presentGroup(urls, ws, group, path),
          permission_set: presentPermissionSet(urls, ws, set),
        },
      ];
    });
  },
};

/**
 * Project members and project groups (buddy-api-clients.md §C.5): list (paged), add, read, change the
 * permission set, remove, the same five routes for each kind.
 */
export function projectTeamRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const read = { scope: 'WORKSPACE', access: 'team:READ_ONLY' } as const;
  const manage = { scope: 'WORKSPACE', access: 'team:MANAGE' } as const;

  for (const kind of [MEMBERS, GROUPS]) {
    const base = `/workspaces/:workspace/projects/:project_name/${kind.segment}`;
    const ItemParams = Type.Object({
      ...ProjectParams.properties,
      [kind.param]: Type.String({ maxLength: 32 }),
    });

    const present = async (ws: WorkspaceRow, project: ProjectRow, grants: ProjectGrant[]) =>
      kind.present(
        db,
        urls,
        ws,
        project,
        grants,
        await getPermissionSetsByIds(
          db,
          grants.map((g) => g.permission_set_id),
        ),
      );

    /** The entry a path names, presented, or the 404 a missing one gets. */
    const one = async (ws: WorkspaceRow, project: ProjectRow, id: string) => {
      const grant = await kind.grants.get(db, project.id, numericId(id, kind.noun));
      const [shown] = grant ? await present(ws, project, [grant]) : [];
      if (!shown) throw notFound(`${kind.noun} ${id} not found in project "${project.name}"`);
      return shown;
    };

    const projectOf = (request: FastifyRequest<{ Params: Params }>) =>
      loadProject(db, request, request.params.workspace, request.params.project_name);

    app.get<{ Params: Params; Querystring: Static<typeof PageQuery> }>(
      base,
      {
        config: read,
        schema: { params: ProjectParams, querystring: PageQuery, response: { 200: kind.list } },
      },
      async (request) => {
        const { ws, project } = await projectOf(request);
        const grants = await kind.grants.list(db, project.id, pageOf(request.query));
        return {
          ...urls.pair(`${urls.project(ws.domain, project.name)}/${kind.segment}`),
          [kind.segment]: await present(ws, project, grants),
        };
      },
    );

    app.post<{ Params: Params; Body: Static<typeof AddBody> }>(
      base,
      {
        config: manage,
        schema: {
          params: ProjectParams,
          body: AddBody,
          querystring: AuthQuery,
          response: { 201: kind.item },
        },
      },
      async (request, reply) => {
        const { ws, project } = await projectOf(request);
        const id = await kind.resolve(db, ws, request.body.id);
        const set = await loadPermissionSet(db, ws, request.body.permission_set.id);
        await kind.grants.put(db, project.id, id, set.id);
        return reply.status(201).send(await one(ws, project, String(id)));
      },
    );

    app.get<{ Params: Params }>(
      `${base}/:${kind.param}`,
      { config: read, schema: { params: ItemParams, querystring: AuthQuery, response: { 200: kind.item } } },
      async (request) => {
        const { ws, project } = await projectOf(request);
        return one(ws, project, request.params[kind.param]!);
      },
    );

    app.patch<{ Params: Params; Body: Static<typeof PatchBody> }>(
      `${base}/:${kind.param}`,
      {
        config: manage,
        schema: { params: ItemParams, body: PatchBody, querystring: AuthQuery, response: { 200: kind.item } },
      },
      async (request) => {
        const { ws, project } = await projectOf(request);
        const id = request.params[kind.param]!;
        await one(ws, project, id);
        const set = await loadPermissionSet(db, ws, request.body.permission_set.id);
        await kind.grants.put(db, project.id, numericId(id, kind.noun), set.id);
        return one(ws, project, id);
      },
    );

    app.delete<{ Params: Params }>(
      `${base}/:${kind.param}`,
      { config: manage, schema: { params: ItemParams, querystring: AuthQuery } },
      async (request, reply) => {
        const { ws, project } = await projectOf(request);
        const id = request.params[kind.param]!;
        await one(ws, project, id);
        await kind.grants.remove(db, project.id, numericId(id, kind.noun));
        return reply.status(204).send();
      },
    );
  }
}
