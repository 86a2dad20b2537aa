import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TNull, type TOptional, type TUnion } from '@sinclair/typebox';
import { slugify } from '../../domain/pipeline.ts';
import type { Db } from '../../store/database.ts';
import {
  ENVIRONMENT_DEFAULTS,
  environmentSettings,
  type EnvironmentSettings,
  createEnvironment,
  deleteEnvironment,
  getEnvironment,
  identifierInUse,
  listEnvironments,
  updateEnvironment,
} from '../../store/environments.ts';
import { hasActiveExecutionsInEnvironment } from '../../store/executions.ts';
import { getProject, getProjectById } from '../../store/projects.ts';
import type { EnvironmentRow, WorkspaceRow } from '../../store/schema.ts';
import { createVariable, deleteVariable, listVariables } from '../../store/variables.ts';
import { accessOf } from '../access/route-access.ts';
import type { ObjectPermissions } from '../../domain/access-levels.ts';
import { getObjectPermissions, setObjectPermissions } from '../../store/object-permissions.ts';
import type { ApiContext } from '../context.ts';
import { Environment, EnvironmentList } from '../schemas/resources.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { loadWorkspace, projectFilter } from '../lookup.ts';
import { presentEnvironment, presentVariableRow } from '../present/variable.ts';
import { AuthQuery, Name, OneOf, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { VariableFields, variableValues } from './variables.ts';

const Identifier = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' });
const UseLevel = OneOf(['USE_ONLY', 'DENIED'] as const);
const PermissionLevel = OneOf(['MANAGE', 'USE_ONLY', 'DEFAULT', 'DENIED'] as const);
const Grants = Type.Union([
  Type.Array(
    Type.Object(
      { id: Type.Integer({ minimum: 1 }), access_level: PermissionLevel },
      { additionalProperties: false },
    ),
    { maxItems: 500 },
  ),
  Type.Null(),
]);
/** Settings kept in the `settings` JSON column; `null` in a PATCH leaves one unchanged. */
const SettingFields = {
  scope: OneOf(['WORKSPACE', 'PROJECT'] as const),
  pipelines_access_level: UseLevel,
  environments_access_level: UseLevel,
  allowed_pipelines: Type.Array(
    Type.Object(
      {
        project: Type.String({ maxLength: 255 }),
        pipeline: Type.String({ maxLength: 255 }),
        access_level: UseLevel,
      },
      { additionalProperties: false },
    ),
    { maxItems: 500 },
  ),
  allowed_environments: Type.Array(
    Type.Object(
      {
        project: Type.String({ maxLength: 255 }),
        environment: Type.String({ maxLength: 255 }),
        access_level: UseLevel,
      },
      { additionalProperties: false },
    ),
    { maxItems: 500 },
  ),
  base_only: Type.Boolean(),
  base_environments: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 }),
  permissions: Type.Object(
    { others: PermissionLevel, users: Grants, groups: Grants },
    { additionalProperties: false },
  ),
};
const OptionalSettings = Object.fromEntries(
  Object.entries(SettingFields).map(([k, v]) => [k, Type.Optional(Type.Union([v, Type.Null()]))]),
) as { [K in keyof typeof SettingFields]: TOptional<TUnion<[(typeof SettingFields)[K], TNull]>> };
const Fields = {
  name: Name,
  identifier: Type.Optional(Identifier),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
  icon: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  public_url: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
  project: Type.Optional(
    Type.Union([
      Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: true }),
      Type.Null(),
    ]),
  ),
  variables: Type.Optional(
    Type.Array(Type.Object(VariableFields, { additionalProperties: false }), { maxItems: 200 }),
  ),
};
const CreateBody = Type.Object({ ...Fields, ...OptionalSettings }, { additionalProperties: false });
const PatchBody = Type.Object(
  {
    ...Type.Partial(Type.Object(Fields)).properties,
    ...OptionalSettings,
    ...ReadOnlyEcho,
    targets: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
type SettingsBody = Partial<{ [K in keyof typeof SettingFields]: Static<(typeof SettingFields)[K]> | null }>;

/** The stored settings with what a request set; `permissions` is replaced whole, null lists are empty. */
function mergeSettings(current: EnvironmentSettings, body: SettingsBody): EnvironmentSettings {
  const next: EnvironmentSettings = { ...current };
  if (body.pipelines_access_level != null) next.pipelines_access_level = body.pipelines_access_level;
  if (body.environments_access_level != null) next.environments_access_level = body.environments_access_level;
  if (body.allowed_pipelines != null) next.allowed_pipelines = body.allowed_pipelines;
  if (body.allowed_environments != null) next.allowed_environments = body.allowed_environments;
  if (body.base_only != null) next.base_only = body.base_only;
  if (body.base_environments != null) next.base_environments = body.base_environments;
  if (body.permissions != null)
    next.permissions = {
      others: body.permissions.others,
      users: body.permissions.users ?? [],
      groups: body.permissions.groups ?? [],
    };
  return next;
}
const IdParams = Type.Object({ ...WorkspaceParams.properties, id: Type.String({ maxLength: 32 }) });
const ListQuery = Type.Object({
  project_name: Type.Optional(Type.String({ maxLength: 255 })),
  access_token: Type.Optional(Type.String()),
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function environmentId(): string {
  return [...randomBytes(8)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

/** Replaces an environment's variables with `variables` (sealing secrets, keeping "!encrypted" ones). */
async function replaceVariables(
  db: Db,
  ctx: ApiContext,
  ws: WorkspaceRow,
  env: EnvironmentRow,
  variables: Static<typeof CreateBody>['variables'] & object,
): Promise<void> {
  const previous = await listVariables(db, { workspaceId: ws.id, environmentId: env.id });
  const keys = new Set<string>();
  for (const v of variables) {
    if (keys.has(v.key)) throw badRequest(`variable "${v.key}" is given twice`);
    keys.add(v.key);
  }
  const rows = variables.map((v) => variableValues(ctx, v, previous.find((p) => p.key === v.key) ?? null));
  for (const p of previous) await deleteVariable(db, p.id);
  for (const values of rows) {
    await createVariable(db, {
      workspace_id: ws.id,
      project_id: null,
      pipeline_id: null,
      action_id: null,
      environment_id: env.id,
      ...values,
    });
  }
}

export function environmentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/environments';

  async function present(ws: WorkspaceRow, e: EnvironmentRow): Promise<Record<string, unknown>> {
    const project = e.project_id !== null ? ((await getProjectById(db, e.project_id)) ?? null) : null;
    const vars = await listVariables(db, { workspaceId: ws.id, environmentId: e.id });
    return {
      ...presentEnvironment(
        urls,
        ws,
        e,
        project,
        vars.map((v) => presentVariableRow(urls, ws, v, { environment: e })),
      ),
      permissions: await getObjectPermissions(db, { kind: 'environment', id: e.id }),
    };
  }

  async function load(
    request: FastifyRequest,
    params: Static<typeof IdParams>,
  ): Promise<{ ws: WorkspaceRow; e: EnvironmentRow }> {
    const ws = await loadWorkspace(db, request, params.workspace);
    const e = await getEnvironment(db, ws.id, params.id);
    if (!e) throw notFound(`environment "${params.id}" not found`);
    return { ws, e };
  }

  app.get<{ Params: Static<typeof WorkspaceParams>; Querystring: Static<typeof ListQuery> }>(
    base,
    {
      config: { scope: 'ENVIRONMENT_INFO', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: ListQuery, response: { 200: EnvironmentList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const projectId = await projectFilter(db, ws, request.query.project_name);
      const access = accessOf(request);
      const rows = await access.visible(ws, await listEnvironments(db, ws.id, projectId), (e) =>
        access.environmentLevel(ws, e),
      );
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/environments`),
        environments: await Promise.all(rows.map((e) => present(ws, e))),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof CreateBody> }>(
    base,
    {
      config: { scope: 'ENVIRONMENT_ADD', access: 'new-environment:MANAGE' },
      schema: {
        params: WorkspaceParams,
        body: CreateBody,
        querystring: AuthQuery,
        response: { 201: Environment },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const body = request.body;
      let projectId: number | null = null;
      if (body.scope === 'PROJECT' && !body.project)
        throw badRequest('an environment of scope PROJECT needs project {"name"}');
      if (body.scope === 'WORKSPACE' && body.project)
        throw badRequest('an environment of scope WORKSPACE belongs to no project; leave out "project"');
      if (body.project) {
        const project = await getProject(db, ws.id, body.project.name);
        if (!project) throw notFound(`project "${body.project.name}" not found`);
        projectId = project.id;
      }
      const settings = mergeSettings(ENVIRONMENT_DEFAULTS, body);
      const identifier = body.identifier ?? slugify(body.name);
      if (await identifierInUse(db, ws.id, projectId, identifier))
        throw conflict(`environment identifier "${identifier}" is taken`);
      const e = await db.transaction().execute(async (trx) => {
        const created = await createEnvironment(trx, {
          id: environmentId(),
          workspace_id: ws.id,
          project_id: projectId,
          name: body.name,
          identifier,
          settings: JSON.stringify({ ...settings, permissions: null }),
          tags: JSON.stringify(body.tags ?? []),
          icon: body.icon ?? null,
          public_url: body.public_url ?? null,
        });
        if (body.variables) await replaceVariables(trx, ctx, ws, created, body.variables);
        // Kept where the access checks read them.
        if (settings.permissions)
          await setObjectPermissions(
            trx,
            { kind: 'environment', id: created.id },
            settings.permissions as ObjectPermissions,
          );
        return created;
      });
      return reply.status(201).send(await present(ws, e));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    `${base}/:id`,
    {
      config: { scope: 'ENVIRONMENT_INFO', access: 'environment:USE_ONLY' },
      schema: { params: IdParams, querystring: AuthQuery, response: { 200: Environment } },
    },
    async (request) => {
      const { ws, e } = await load(request, request.params);
      return present(ws, e);
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    `${base}/:id`,
    {
      config: { scope: 'ENVIRONMENT_MANAGE', access: 'environment:MANAGE' },
      schema: { params: IdParams, body: PatchBody, querystring: AuthQuery, response: { 200: Environment } },
    },
    async (request) => {
      const { ws, e } = await load(request, request.params);
      const body = request.body;
      if (body.scope != null && body.scope !== (e.project_id === null ? 'WORKSPACE' : 'PROJECT'))
        throw badRequest('an environment cannot change its scope; create a new one');
      if (
        body.project !== undefined &&
        body.project !== null &&
        (body.project?.name ?? null) !==
          (e.project_id === null ? null : (await getProjectById(db, e.project_id))?.name)
      ) {
        throw badRequest('an environment cannot move to another project; create a new one');
      }
      if (
        body.identifier !== undefined &&
        body.identifier !== e.identifier &&
        (await identifierInUse(db, ws.id, e.project_id, body.identifier, e.id))
      ) {
        throw conflict(`environment identifier "${body.identifier}" is taken`);
      }
      const updated = await db.transaction().execute(async (trx) => {
        const merged = mergeSettings(environmentSettings(e), body);
        const settings = JSON.stringify({ ...merged, permissions: null });
        if (body.permissions != null)
          await setObjectPermissions(
            trx,
            { kind: 'environment', id: e.id },
            merged.permissions as ObjectPermissions,
          );
        const row = await updateEnvironment(trx, e.id, {
          ...(settings !== e.settings ? { settings } : {}),
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.identifier !== undefined ? { identifier: body.identifier } : {}),
          ...(body.tags !== undefined ? { tags: JSON.stringify(body.tags) } : {}),
          // null leaves a value as it is (Buddy's clients send null for what they do not change); "" clears it.
          ...(body.icon != null ? { icon: body.icon } : {}),
          ...(body.public_url != null ? { public_url: body.public_url } : {}),
        });
        if (body.variables) await replaceVariables(trx, ctx, ws, row, body.variables);
        return row;
      });
      return present(ws, updated);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    `${base}/:id`,
    {
      config: { scope: 'ENVIRONMENT_MANAGE', access: 'environment:MANAGE' },
      schema: { params: IdParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { e } = await load(request, request.params);
      if (await hasActiveExecutionsInEnvironment(db, e.id))
        throw conflict('environment is used by executions queued or in progress');
      await deleteEnvironment(db, e.id);
      return reply.status(204).send();
    },
  );
}
