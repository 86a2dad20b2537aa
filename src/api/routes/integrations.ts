import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  INTEGRATION_AUTH_TYPES,
  isSupportedIntegrationType,
  KNOWN_INTEGRATION_TYPES,
  normalizeRegistryHost,
  PLAIN_INTEGRATION_FIELDS,
  SECRET_INTEGRATION_FIELDS,
  type IntegrationType,
} from '../../domain/integrations.ts';
import type { SecretBox } from '../../secrets/cipher.ts';
import { shownSealed } from '../../secrets/variables.ts';
import { getPipelineById } from '../../store/pipelines.ts';
import { getProject, getProjectById } from '../../store/projects.ts';
import {
  INTEGRATION_DEFAULTS,
  integrationSettings,
  type IntegrationSettings,
  createIntegration,
  deleteIntegration,
  findIntegration,
  integrationIdentifierInUse,
  listIntegrations,
  updateIntegration,
  type NewIntegration,
} from '../../store/integrations.ts';
import type { IntegrationRow, WorkspaceRow } from '../../store/schema.ts';
import { accessOf } from '../access/route-access.ts';
import type { ObjectPermissions } from '../../domain/access-levels.ts';
import { getObjectPermissions, setObjectPermissions } from '../../store/object-permissions.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { loadWorkspace } from '../lookup.ts';
import { presentIntegration } from '../present/integration.ts';
import { AuthQuery, Name, OneOf, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { Integration, IntegrationList } from '../schemas/integration.ts';

const Identifier = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' });
const Level = OneOf(['MANAGE', 'USE_ONLY', 'DENIED'] as const);
const Grants = Type.Union([
  Type.Array(
    Type.Object({ id: Type.Integer({ minimum: 1 }), access_level: Level }, { additionalProperties: false }),
    { maxItems: 500 },
  ),
  Type.Null(),
]);
const Text = Type.String({ maxLength: 8192 });
const Fields = {
  name: Name,
  // Checked in code, so an unknown type gets the list of known ones.
  type: Type.String({ minLength: 1, maxLength: 64 }),
  identifier: Type.Optional(Identifier),
  scope: Type.Optional(OneOf(['WORKSPACE', 'PROJECT'] as const)),
  project_name: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  auth_type: Type.Optional(OneOf(INTEGRATION_AUTH_TYPES)),
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
  host: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()])),
  ...Object.fromEntries(SECRET_INTEGRATION_FIELDS.map((f) => [f, Type.Optional(Text)])),
  ...Object.fromEntries(
    PLAIN_INTEGRATION_FIELDS.map((f) => [f, Type.Optional(Type.String({ maxLength: 1000 }))]),
  ),
  role_assumptions: Type.Optional(
    Type.Array(
      Type.Object(
        {
          arn: Type.String({ minLength: 1, maxLength: 2048 }),
          external_id: Type.Optional(Type.String({ maxLength: 1224 })),
          duration: Type.Optional(Type.Integer({ minimum: 0, maximum: 43200 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 20 },
    ),
  ),
  all_pipelines_allowed: Type.Optional(Type.Boolean()),
  allowed_pipelines: Type.Optional(
    Type.Array(
      Type.Object(
        {
          id: Type.Integer({ minimum: 1 }),
          name: Type.Optional(Type.String()),
          url: Type.Optional(Type.String()),
          html_url: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
      { maxItems: 500 },
    ),
  ),
  // null: unchanged (what a GET shows for an integration that never had permissions set).
  permissions: Type.Optional(
    Type.Union([
      Type.Object(
        { admins: Level, others: Level, users: Grants, groups: Grants },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
  ),
};
const CreateBody = Type.Object(Fields, { additionalProperties: false });
const PatchBody = Type.Object(
  {
    ...Type.Partial(Type.Object(Fields)).properties,
    ...ReadOnlyEcho,
    hash_id: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ ...WorkspaceParams.properties, identifier: Type.String({ maxLength: 100 }) });
type Body = Partial<Static<typeof CreateBody>> & Record<string, unknown>;

const KNOWN = KNOWN_INTEGRATION_TYPES.join(', ');

function knownType(type: string): string {
  if (!KNOWN_INTEGRATION_TYPES.includes(type))
    throw badRequest(`unknown integration type "${type}"; known types: ${KNOWN}`);
  return type;
}

/** Registry integrations (the types Gantry uses) take only a username, password and host. */
function checkRegistryOptions(body: Body, type: IntegrationType): void {
  if (body.auth_type !== undefined && body.auth_type !== 'DEFAULT')
    throw badRequest(`auth_type ${body.auth_type} does not apply to ${type} integrations; only DEFAULT`);
  const extra = [...SECRET_INTEGRATION_FIELDS, ...PLAIN_INTEGRATION_FIELDS].find(
    (f) => body[f] !== undefined,
  );
  if (body.role_assumptions !== undefined && body.role_assumptions.length > 0)
    throw badRequest(`field "role_assumptions" does not apply to ${type} integrations`);
  if (extra) throw badRequest(`field "${extra}" does not apply to ${type} integrations`);
}

/** Other types: their provider's fields, but none of the registry ones. */
function checkProviderOptions(body: Body, type: string): void {
  const extra = ['host'].find((f) => body[f] !== undefined && body[f] !== null);
  if (extra) throw badRequest(`field "${extra}" does not apply to ${type} integrations`);
}

/**
 * The password to store: sealed, or the stored one when the client sent back exactly what the API
 * showed ("!encrypted ..."), so a GET-modify-PATCH round trip keeps the secret.
 */
function sealedPassword(box: SecretBox, incoming: string, stored: string | null): string {
  if (stored !== null && incoming === shownSealed(stored)) return stored;
  if (incoming.startsWith('!encrypted '))
    throw badRequest('password: an "!encrypted" value can only be sent back unchanged');
  return box.seal(incoming);
}

/** Checks the integration as it would be stored and returns its credential columns. */
function credentials(
  box: SecretBox,
  type: IntegrationType,
  body: Body,
  current: IntegrationRow | null,
): Pick<NewIntegration, 'username' | 'password' | 'host'> {
  const username = body.username ?? current?.username ?? null;
  if (username === null) throw badRequest(`field "username" is required for ${type} integrations`);
  const password =
    body.password !== undefined
      ? sealedPassword(box, body.password, current?.password ?? null)
      : (current?.password ?? null);
  if (password === null) throw badRequest(`field "password" is required for ${type} integrations`);
  const rawHost = body.host !== undefined ? body.host : (current?.host ?? null);
  if (type === 'DOCKER_HUB') {
    if (rawHost !== null)
      throw badRequest(
        'field "host" applies to DOCKER_REGISTRY integrations only; DOCKER_HUB always uses docker.io',
      );
    return { username, password, host: null };
  }
  if (rawHost === null)
    throw badRequest(
      'field "host" (the registry address, e.g. registry.example.com:5000) is required for DOCKER_REGISTRY integrations',
    );
  const host = normalizeRegistryHost(rawHost);
  if (host === null)
    throw badRequest(`field "host": "${rawHost}" is not a registry address like registry.example.com:5000`);
  return { username, password, host };
}

/**
 * Credentials of a type Gantry only stores: sealed together as one JSON object. A field sent again
 * replaces its value; the others are kept.
 */
function providerSecrets(box: SecretBox, body: Body, current: IntegrationRow | null): string | null {
  const previous: Record<string, string> =
    current?.secrets != null ? (JSON.parse(box.open(current.secrets)) as Record<string, string>) : {};
  const next = { ...previous };
  for (const f of [...SECRET_INTEGRATION_FIELDS, 'password'] as const) {
    const v = body[f];
    if (typeof v === 'string') next[f] = v;
  }
  return Object.keys(next).length > 0 ? box.seal(JSON.stringify(next)) : null;
}

/** The stored settings with what a request set; `permissions` is replaced whole. */
function mergeSettings(current: IntegrationSettings, body: Body): IntegrationSettings {
  const next: IntegrationSettings = { ...current };
  if (body.auth_type !== undefined) next.auth_type = body.auth_type;
  for (const f of PLAIN_INTEGRATION_FIELDS) {
    const v = body[f];
    if (typeof v === 'string') next[f] = v;
  }
  if (body.role_assumptions !== undefined) next.role_assumptions = body.role_assumptions;
  if (body.all_pipelines_allowed !== undefined) next.all_pipelines_allowed = body.all_pipelines_allowed;
  if (body.allowed_pipelines !== undefined) next.allowed_pipelines = body.allowed_pipelines.map((p) => p.id);
  if (body.permissions !== undefined && body.permissions !== null)
    next.permissions = {
      admins: body.permissions.admins,
      others: body.permissions.others,
      users: body.permissions.users ?? [],
      groups: body.permissions.groups ?? [],
    };
  return next;
}

/** 24 hex characters, the shape of Buddy's integration hash_id. */
function hashId(): string {
  return randomBytes(12).toString('hex');
}

export function integrationRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls, secrets } = ctx;
  const base = '/workspaces/:workspace/integrations';

  async function load(
    request: FastifyRequest,
    params: Static<typeof IdParams>,
  ): Promise<{ ws: WorkspaceRow; i: IntegrationRow }> {
    const ws = await loadWorkspace(db, request, params.workspace);
    const i = await findIntegration(db, ws.id, params.identifier);
    if (!i) throw notFound(`integration "${params.identifier}" not found`);
    return { ws, i };
  }

  /** The project a PROJECT-scoped integration belongs to (its name is the request's `project_name`). */
  async function scopeProject(ws: WorkspaceRow, scope: string, projectName: string | null | undefined) {
    if (scope === 'WORKSPACE') {
      if (projectName)
        throw badRequest('a WORKSPACE integration belongs to no project; leave out project_name');
      return null;
    }
    if (!projectName) throw badRequest('a PROJECT integration needs project_name');
    const project = await getProject(db, ws.id, projectName);
    if (!project) throw notFound(`project "${projectName}" not found`);
    return project;
  }

  /** Pipelines named in allowed_pipelines must be pipelines of this workspace. */
  async function checkPipelines(ws: WorkspaceRow, ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const pipeline = await getPipelineById(db, id);
      const project = pipeline && (await getProjectById(db, pipeline.projectId));
      if (!project || project.workspace_id !== ws.id)
        throw badRequest(`allowed_pipelines: pipeline ${id} not found`);
    }
  }

  async function present(ws: WorkspaceRow, i: IntegrationRow): Promise<Record<string, unknown>> {
    const settings = integrationSettings(i);
    const project = i.project_id === null ? null : await getProjectById(db, i.project_id);
    const pipelines = [];
    for (const id of settings.allowed_pipelines) {
      const pipeline = await getPipelineById(db, id);
      const owner = pipeline && (await getProjectById(db, pipeline.projectId));
      pipelines.push(
        pipeline && owner
          ? { ...urls.pair(urls.pipeline(ws.domain, owner.name, id)), id, name: pipeline.name }
          : { id },
      );
    }
    const permissions = await getObjectPermissions(db, { kind: 'integration', id: i.id });
    return presentIntegration(urls, ws, i, {
      settings: { ...settings, permissions: permissions as IntegrationSettings['permissions'] },
      projectName: project?.name ?? '',
      pipelines,
    });
  }

  app.get<{ Params: Static<typeof WorkspaceParams> }>(
    base,
    {
      config: { scope: 'INTEGRATION_INFO', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: AuthQuery, response: { 200: IntegrationList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const access = accessOf(request);
      const rows = await access.visible(ws, await listIntegrations(db, ws.id), (i) =>
        access.integrationLevel(ws, i),
      );
      const integrations = [];
      for (const i of rows) integrations.push(await present(ws, i));
      return { ...urls.pair(`${urls.workspace(ws.domain)}/integrations`), integrations };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof CreateBody> }>(
    base,
    {
      config: { scope: 'INTEGRATION_ADD', access: 'workspace:MANAGE' },
      schema: {
        params: WorkspaceParams,
        body: CreateBody,
        querystring: AuthQuery,
        response: { 201: Integration },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const body = request.body as Body & Static<typeof CreateBody>;
      const type = knownType(body.type);
      const scope = body.scope ?? 'WORKSPACE';
      const project = await scopeProject(ws, scope, body.project_name);
      const settings = mergeSettings(INTEGRATION_DEFAULTS, body);
      await checkPipelines(ws, settings.allowed_pipelines);
      const hash = hashId();
      const identifier = body.identifier ?? hash;
      if (await integrationIdentifierInUse(db, ws.id, identifier))
        throw conflict(`integration identifier "${identifier}" is taken`);
      let columns: Pick<NewIntegration, 'username' | 'password' | 'host' | 'secrets'>;
      if (isSupportedIntegrationType(type)) {
        checkRegistryOptions(body, type);
        columns = { ...credentials(secrets, type, body, null), secrets: null };
      } else {
        checkProviderOptions(body, type);
        columns = {
          username: body.username ?? null,
          password: null,
          host: null,
          secrets: providerSecrets(secrets, body, null),
        };
      }
      const i = await createIntegration(db, {
        workspace_id: ws.id,
        project_id: project?.id ?? null,
        settings: JSON.stringify({ ...settings, permissions: null }),
        hash_id: hash,
        identifier,
        name: body.name,
        type,
        scope,
        ...columns,
      });
      // Kept where the access checks read them.
      if (settings.permissions)
        await setObjectPermissions(
          db,
          { kind: 'integration', id: i.id },
          settings.permissions as ObjectPermissions,
        );
      return reply.status(201).send(await present(ws, i));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    `${base}/:identifier`,
    {
      config: { scope: 'INTEGRATION_INFO', access: 'integration:USE_ONLY' },
      schema: { params: IdParams, querystring: AuthQuery, response: { 200: Integration } },
    },
    async (request) => {
      const { ws, i } = await load(request, request.params);
      return present(ws, i);
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    `${base}/:identifier`,
    {
      config: { scope: 'INTEGRATION_MANAGE', access: 'integration:MANAGE' },
      schema: { params: IdParams, body: PatchBody, querystring: AuthQuery, response: { 200: Integration } },
    },
    async (request) => {
      const { ws, i } = await load(request, request.params);
      const body = request.body as Body;
      const type = knownType(body.type ?? i.type);
      // Only the two registry types share their fields; any other change of type is a new integration.
      if (type !== i.type && !(isSupportedIntegrationType(type) && isSupportedIntegrationType(i.type)))
        throw badRequest(`an integration cannot change its type from ${i.type} to ${type}; create a new one`);
      const scope = body.scope ?? i.scope;
      const currentProject = i.project_id === null ? null : await getProjectById(db, i.project_id);
      const projectName =
        body.project_name !== undefined ? body.project_name : (currentProject?.name ?? null);
      const project = await scopeProject(ws, scope, projectName);
      const settings = mergeSettings(integrationSettings(i), body);
      await checkPipelines(ws, settings.allowed_pipelines);
      if (
        body.identifier !== undefined &&
        body.identifier !== i.identifier &&
        (await integrationIdentifierInUse(db, ws.id, body.identifier, i.id))
      ) {
        throw conflict(`integration identifier "${body.identifier}" is taken`);
      }
      let columns: Partial<Pick<NewIntegration, 'username' | 'password' | 'host' | 'secrets'>>;
      if (isSupportedIntegrationType(type)) {
        checkRegistryOptions(body, type);
        columns = credentials(secrets, type, body, i);
      } else {
        checkProviderOptions(body, type);
        columns = {
          ...(body.username !== undefined ? { username: body.username } : {}),
          secrets: providerSecrets(secrets, body, i),
        };
      }
      const updated = await updateIntegration(db, i.id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.identifier !== undefined ? { identifier: body.identifier } : {}),
        type,
        scope,
        project_id: project?.id ?? null,
        settings: JSON.stringify({ ...settings, permissions: null }),
        ...columns,
      });
      if (body.permissions != null)
        await setObjectPermissions(
          db,
          { kind: 'integration', id: i.id },
          settings.permissions as ObjectPermissions,
        );
      return present(ws, updated);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    `${base}/:identifier`,
    {
      config: { scope: 'INTEGRATION_MANAGE', access: 'integration:MANAGE' },
      schema: { params: IdParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { i } = await load(request, request.params);
      await deleteIntegration(db, i.id);
      return reply.status(204).send();
    },
  );
}
