import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  isSupportedIntegrationType,
  normalizeRegistryHost,
  SUPPORTED_INTEGRATION_TYPES,
  UNSUPPORTED_INTEGRATION_TYPES,
  type IntegrationType,
} from '../../domain/integrations.ts';
import type { SecretBox } from '../../secrets/cipher.ts';
import { shownSealed } from '../../secrets/variables.ts';
import {
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
import type { ApiContext } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { loadWorkspace } from '../lookup.ts';
import { presentIntegration } from '../present/integration.ts';
import { AuthQuery, Name, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';

const Identifier = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' });
// Buddy's fields for provider types Gantry cannot use yet: accepted by the schema so that such a request
// gets the "not supported yet" answer about its type rather than "unknown field".
const ProviderFields = [
  'shop',
  'token',
  'access_key',
  'secret_key',
  'audience',
  'app_id',
  'tenant_id',
  'api_key',
  'email',
  'partner_token',
  'google_project',
  'config',
  'role_assumptions',
  'region',
  'allowed_pipelines',
  'permissions',
] as const;
const Fields = {
  name: Name,
  // Checked in code: unsupported Buddy types get their own message.
  type: Type.String({ minLength: 1, maxLength: 64 }),
  identifier: Type.Optional(Identifier),
  scope: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  auth_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
  host: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()])),
  all_pipelines_allowed: Type.Optional(Type.Boolean()),
  ...Object.fromEntries(ProviderFields.map((f) => [f, Type.Optional(Type.Unknown())])),
};
const CreateBody = Type.Object(Fields, { additionalProperties: false });
const PatchBody = Type.Object(
  {
    ...Type.Partial(Type.Object(Fields)).properties,
    ...ReadOnlyEcho,
    hash_id: Type.Optional(Type.Unknown()),
    project_name: Type.Optional(Type.Null()),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ ...WorkspaceParams.properties, identifier: Type.String({ maxLength: 100 }) });
type Body = Partial<Static<typeof CreateBody>> & Record<string, unknown>;

const SUPPORTED = SUPPORTED_INTEGRATION_TYPES.join(', ');

/** The type a client asked for, when Gantry can use it; a 400 that says why otherwise. */
function supportedType(type: string): IntegrationType {
  if (isSupportedIntegrationType(type)) return type;
  if ((UNSUPPORTED_INTEGRATION_TYPES as readonly string[]).includes(type)) {
    throw badRequest(
      `not supported yet: integration type ${type} needs its provider's own API; supported types: ${SUPPORTED}`,
    );
  }
  throw badRequest(`unknown integration type "${type}"; supported types: ${SUPPORTED}`);
}

/** Refuses the parts of Buddy's integration model Gantry does not have (scopes, auth types, pipeline restrictions). */
function checkOptions(body: Body, type: IntegrationType): void {
  if (body.scope !== undefined && body.scope !== 'WORKSPACE')
    throw badRequest(`not supported yet: integration scope ${body.scope}; only WORKSPACE`);
  if (body.auth_type !== undefined && body.auth_type !== 'DEFAULT')
    throw badRequest(`not supported yet: auth_type ${body.auth_type}; only DEFAULT (username and password)`);
  if (body.all_pipelines_allowed === false)
    throw badRequest('not supported yet: restricting an integration to some pipelines');
  const extra = ProviderFields.find((f) => body[f] !== undefined);
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

  app.get<{ Params: Static<typeof WorkspaceParams> }>(
    base,
    {
      config: { scope: 'INTEGRATION_INFO', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: AuthQuery },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const access = accessOf(request);
      const rows = await access.visible(ws, await listIntegrations(db, ws.id), (i) =>
        access.integrationLevel(ws, i),
      );
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/integrations`),
        integrations: rows.map((i) => presentIntegration(urls, ws, i)),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof CreateBody> }>(
    base,
    {
      config: { scope: 'INTEGRATION_ADD', access: 'workspace:MANAGE' },
      schema: { params: WorkspaceParams, body: CreateBody, querystring: AuthQuery },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const body = request.body as Body & Static<typeof CreateBody>;
      const type = supportedType(body.type);
      checkOptions(body, type);
      const hash = hashId();
      const identifier = body.identifier ?? hash;
      if (await integrationIdentifierInUse(db, ws.id, identifier))
        throw conflict(`integration identifier "${identifier}" is taken`);
      const i = await createIntegration(db, {
        workspace_id: ws.id,
        project_id: null,
        settings: '{}',
        secrets: null,
        hash_id: hash,
        identifier,
        name: body.name,
        type,
        scope: 'WORKSPACE',
        ...credentials(secrets, type, body, null),
      });
      return reply.status(201).send(presentIntegration(urls, ws, i));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    `${base}/:identifier`,
    {
      config: { scope: 'INTEGRATION_INFO', access: 'integration:USE_ONLY' },
      schema: { params: IdParams, querystring: AuthQuery },
    },
    async (request) => {
      const { ws, i } = await load(request, request.params);
      return presentIntegration(urls, ws, i);
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    `${base}/:identifier`,
    {
      config: { scope: 'INTEGRATION_MANAGE', access: 'integration:MANAGE' },
      schema: { params: IdParams, body: PatchBody, querystring: AuthQuery },
    },
    async (request) => {
      const { ws, i } = await load(request, request.params);
      const body = request.body as Body;
      const type = supportedType(body.type ?? i.type);
      checkOptions(body, type);
      if (
        body.identifier !== undefined &&
        body.identifier !== i.identifier &&
        (await integrationIdentifierInUse(db, ws.id, body.identifier, i.id))
      ) {
        throw conflict(`integration identifier "${body.identifier}" is taken`);
      }
      const updated = await updateIntegration(db, i.id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.identifier !== undefined ? { identifier: body.identifier } : {}),
        type,
        ...credentials(secrets, type, body, i),
      });
      return presentIntegration(urls, ws, updated);
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
