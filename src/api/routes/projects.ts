import type { FastifyInstance } from 'fastify';
import { Type, type Static, type TNull, type TOptional, type TSchema, type TUnion } from '@sinclair/typebox';
import { slugify } from '../../domain/pipeline.ts';
import { hasActiveExecutions } from '../../store/executions.ts';
import { getUser, getUsers } from '../../store/identity.ts';
import { findIntegration } from '../../store/integrations.ts';
import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  PROJECT_DEFAULTS,
  projectSettings,
  updateProject,
  type NewProject,
  type ProjectSettings,
} from '../../store/projects.ts';
import { getVariable } from '../../store/variables.ts';
import { checkRepositoryUrl, repositoryUrlPolicy } from '../../repo/url-policy.ts';
import { accessOf } from '../access/route-access.ts';
import { principalOf } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { Project, ProjectList } from '../schemas/resources.ts';
import { badRequest, conflict } from '../errors.ts';
import { loadProject, loadWorkspace, pageOf } from '../lookup.ts';
import { presentProject } from '../present/project.ts';
import { addGeneratedSshKey } from './variables.ts';
import { AuthQuery, Name, OneOf, ProjectParams, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { workspaceAdminIds } from '../../store/members.ts';

const ProjectName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9_-]*$' });
const RepoUrl = Type.String({ minLength: 1, maxLength: 2000 });
const Secret = Type.String({ maxLength: 1000 });

const Access = OneOf(['PRIVATE', 'PUBLIC'] as const);
/** Settings both create and update take; `null` on update leaves a value unchanged. */
const SettingFields = {
  access: Access,
  allow_pull_requests: Type.Boolean(),
  fetch_submodules: Type.Boolean(),
  fetch_submodules_env_key: Type.String({ maxLength: 255 }),
  update_default_branch_from_external: Type.Boolean(),
};
const nullable = <T extends Record<string, TSchema>>(fields: T) =>
  Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, Type.Optional(Type.Union([v, Type.Null()]))]),
  ) as { [K in keyof T]: TOptional<TUnion<[T[K], TNull]>> };

const CreateBody = Type.Object(
  {
    display_name: Name,
    name: Type.Optional(ProjectName),
    custom_repo_url: Type.Optional(RepoUrl),
    custom_repo_user: Type.Optional(Type.String({ maxLength: 255 })),
    custom_repo_pass: Type.Optional(Secret),
    custom_repo_ssh_key_id: Type.Optional(Type.Integer({ minimum: 1 })),
    external_project_id: Type.Optional(Type.String({ maxLength: 255 })),
    git_lab_project_id: Type.Optional(Type.String({ maxLength: 255 })),
    integration: Type.Optional(
      Type.Object({ hash_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: true }),
    ),
    without_repository: Type.Optional(Type.Boolean()),
    ...Type.Partial(Type.Object(SettingFields)).properties,
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    ...nullable({
      display_name: Name,
      name: ProjectName,
      status: OneOf(['ACTIVE', 'CLOSED'] as const),
      custom_repo_url: RepoUrl,
      ...SettingFields,
    }),
    custom_repo_user: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
    custom_repo_pass: Type.Optional(Type.Union([Secret, Type.Null()])),
    ...ReadOnlyEcho,
    ...Object.fromEntries(
      [
        'created_by',
        'default_branch',
        'http_repository',
        'ssh_repository',
        'without_repository',
        'external_project_id',
        'git_lab_project_id',
        'integration',
        'custom_repo_ssh_key_id',
      ].map((k) => [k, Type.Optional(Type.Unknown())]),
    ),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  status: Type.Optional(OneOf(['ACTIVE', 'CLOSED'] as const)),
  sort_by: Type.Optional(OneOf(['name', 'create_date'] as const)),
  sort_direction: Type.Optional(OneOf(['ASC', 'DESC'] as const)),
  /** Buddy lists only the projects the caller is a member of; every project a token reaches is its own here. */
  membership: Type.Optional(Type.Boolean()),
  access_token: Type.Optional(Type.String()),
});

/**
 * Accepts git URLs of the usual schemes and local paths, normalised first (url-policy.ts): nothing git could
 * read as an option, no local path outside allowedRepositoryRoots or inside the data directory, no internal
 * host unless allowedRepositoryHosts lists it.
 */
async function checkRepoUrl(url: string, ctx: ApiContext): Promise<string | null> {
  const checked = await checkRepositoryUrl(url, repositoryUrlPolicy(ctx.config), { strict: false });
  return typeof checked === 'string' ? checked : null;
}

/** The entries of `values` that are not undefined: what a request actually set. */
function definedOnly<T extends Record<string, unknown>>(
  values: T,
): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<{
    [K in keyof T]: Exclude<T[K], undefined>;
  }>;
}

export function projectRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls, secrets } = ctx;
  const base = '/workspaces/:workspace/projects';

  app.get<{ Params: Static<typeof WorkspaceParams>; Querystring: Static<typeof ListQuery> }>(
    base,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: ListQuery, response: { 200: ProjectList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const page = pageOf(request.query);
      const access = accessOf(request);
      const { rows, total } = await listProjects(db, ws.id, {
        ...(request.query.status ? { status: request.query.status } : {}),
        ...((await access.manages(ws))
          ? {}
          : { memberOf: { userId: access.user.id, groupIds: await access.groupIds(ws) } }),
        sortBy: request.query.sort_by ?? 'name',
        sortDirection: request.query.sort_direction ?? 'ASC',
        limit: page.limit,
        offset: page.offset,
      });
      const users = await getUsers(
        db,
        rows.map((r) => r.created_by),
      );
      const admins = await workspaceAdminIds(db, ws.id);
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/projects`),
        page: page.page,
        page_size: page.perPage,
        total_page_count: Math.ceil(total / page.perPage),
        element_count: rows.length,
        total_element_count: total,
        projects: rows.map((p) => presentProject(urls, ws, p, users.get(p.created_by), admins)),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof CreateBody> }>(
    base,
    {
      config: { scope: 'WORKSPACE', access: 'workspace:MANAGE' },
      schema: {
        params: WorkspaceParams,
        body: CreateBody,
        querystring: AuthQuery,
        response: { 201: Project },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const body = request.body;
      const urlError =
        body.custom_repo_url !== undefined ? await checkRepoUrl(body.custom_repo_url, ctx) : null;
      if (urlError) throw badRequest(urlError);
      if (
        body.custom_repo_url === undefined &&
        (body.custom_repo_user !== undefined || body.custom_repo_pass !== undefined)
      ) {
        throw badRequest('custom_repo_user and custom_repo_pass need custom_repo_url');
      }
      let name = body.name;
      if (name === undefined) {
        const stem = slugify(body.display_name);
        name = stem;
        for (let n = 2; await getProject(db, ws.id, name); n += 1) name = `${stem}-${n}`;
      } else if (await getProject(db, ws.id, name)) {
        throw conflict(`project "${name}" already exists in workspace "${ws.domain}"`);
      }
      if (body.custom_repo_ssh_key_id !== undefined) {
        const key = await getVariable(db, ws.id, body.custom_repo_ssh_key_id);
        if (!key || key.type !== 'SSH_KEY')
          throw badRequest(
            `custom_repo_ssh_key_id: no SSH_KEY variable ${body.custom_repo_ssh_key_id} in this workspace`,
          );
      }
      if (body.integration !== undefined && !(await findIntegration(db, ws.id, body.integration.hash_id)))
        throw badRequest(`integration "${body.integration.hash_id}" not found`);
      const settings: ProjectSettings = {
        ...PROJECT_DEFAULTS,
        ...definedOnly({
          access: body.access,
          allow_pull_requests: body.allow_pull_requests,
          fetch_submodules: body.fetch_submodules,
          fetch_submodules_env_key: body.fetch_submodules_env_key,
          update_default_branch_from_external: body.update_default_branch_from_external,
          without_repository: body.without_repository,
          external_project_id: body.external_project_id,
          git_lab_project_id: body.git_lab_project_id,
          integration_hash_id: body.integration?.hash_id,
          custom_repo_ssh_key_id: body.custom_repo_ssh_key_id,
        }),
      };
      const user = principalOf(request).user;
      const values: NewProject = {
        settings: JSON.stringify(settings),
        workspace_id: ws.id,
        name,
        display_name: body.display_name,
        created_by: user.id,
        custom_repo_url: body.custom_repo_url ?? null,
        custom_repo_user: body.custom_repo_user ?? null,
        custom_repo_pass: body.custom_repo_pass !== undefined ? secrets.seal(body.custom_repo_pass) : null,
        default_branch: body.custom_repo_url === undefined ? 'master' : null,
      };
      // The hosted repository exists before the row does, so a listed project can always be pushed to.
      const project = await db.transaction().execute(async (trx) => {
        const created = await createProject(trx, values);
        await addGeneratedSshKey(
          trx,
          secrets,
          { workspaceId: ws.id, projectId: created.id },
          `gantry-${ws.domain}-${name}`,
        );
        if (created.custom_repo_url === null) await ctx.repositories.createHosted(created.id);
        return created;
      });
      return reply
        .status(201)
        .send(presentProject(urls, ws, project, user, await workspaceAdminIds(db, ws.id)));
    },
  );

  app.get<{ Params: Static<typeof ProjectParams> }>(
    `${base}/:project_name`,
    {
      config: { scope: 'WORKSPACE', access: 'project:READ_ONLY' },
      schema: { params: ProjectParams, querystring: AuthQuery, response: { 200: Project } },
    },
    async (request) => {
      const { ws, project } = await loadProject(
        db,
        request,
        request.params.workspace,
        request.params.project_name,
      );
      return presentProject(
        urls,
        ws,
        project,
        await getUser(db, project.created_by),
        await workspaceAdminIds(db, ws.id),
      );
    },
  );

  app.patch<{ Params: Static<typeof ProjectParams>; Body: Static<typeof PatchBody> }>(
    `${base}/:project_name`,
    {
      config: { scope: 'WORKSPACE', access: 'project:MANAGE' },
      schema: { params: ProjectParams, body: PatchBody, querystring: AuthQuery, response: { 200: Project } },
    },
    async (request) => {
      const { ws, project } = await loadProject(
        db,
        request,
        request.params.workspace,
        request.params.project_name,
      );
      const body = request.body;
      const patch: Partial<NewProject & { status: string }> = {};
      if (body.display_name !== undefined && body.display_name !== null)
        patch.display_name = body.display_name;
      if (body.status !== undefined && body.status !== null) patch.status = body.status;
      const changedSettings = definedOnly({
        access: body.access ?? undefined,
        allow_pull_requests: body.allow_pull_requests ?? undefined,
        fetch_submodules: body.fetch_submodules ?? undefined,
        fetch_submodules_env_key: body.fetch_submodules_env_key ?? undefined,
        update_default_branch_from_external: body.update_default_branch_from_external ?? undefined,
      });
      if (Object.keys(changedSettings).length > 0)
        patch.settings = JSON.stringify({ ...projectSettings(project), ...changedSettings });
      if (body.name !== undefined && body.name !== null && body.name !== project.name) {
        if (await getProject(db, ws.id, body.name))
          throw conflict(`project "${body.name}" already exists in workspace "${ws.domain}"`);
        patch.name = body.name;
      }
      const changesSource =
        (body.custom_repo_url !== undefined && body.custom_repo_url !== null) ||
        body.custom_repo_user !== undefined ||
        body.custom_repo_pass !== undefined;
      if (changesSource) {
        if (project.custom_repo_url === null)
          throw badRequest('a project with a hosted repository cannot switch to custom_repo_url');
        if (body.custom_repo_url !== undefined && body.custom_repo_url !== null) {
          const urlError = await checkRepoUrl(body.custom_repo_url, ctx);
          if (urlError) throw badRequest(urlError);
          patch.custom_repo_url = body.custom_repo_url;
        }
        if (body.custom_repo_user !== undefined) patch.custom_repo_user = body.custom_repo_user;
        if (body.custom_repo_pass !== undefined && body.custom_repo_pass !== '!encrypted') {
          patch.custom_repo_pass =
            body.custom_repo_pass === null ? null : secrets.seal(body.custom_repo_pass);
        }
      }
      if (
        (patch.name !== undefined || changesSource) &&
        (await hasActiveExecutions(db, { projectId: project.id }))
      ) {
        throw conflict(
          'project has executions queued or in progress; its name and repository cannot change now',
        );
      }
      const updated = Object.keys(patch).length ? await updateProject(db, project.id, patch) : project;
      return presentProject(
        urls,
        ws,
        updated,
        await getUser(db, updated.created_by),
        await workspaceAdminIds(db, ws.id),
      );
    },
  );

  app.delete<{ Params: Static<typeof ProjectParams> }>(
    `${base}/:project_name`,
    {
      config: { scope: 'PROJECT_DELETE', access: 'project:MANAGE' },
      schema: { params: ProjectParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { project } = await loadProject(
        db,
        request,
        request.params.workspace,
        request.params.project_name,
      );
      if (await hasActiveExecutions(db, { projectId: project.id })) {
        throw conflict('project has executions queued or in progress; cancel them first');
      }
      await deleteProject(db, project.id);
      await ctx.repositories.forget([project.id]);
      return reply.status(204).send();
    },
  );
}
