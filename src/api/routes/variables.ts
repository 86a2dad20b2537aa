import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { SecretBox } from '../../secrets/cipher.ts';
import { describeSshKey, generateSshKey, valueChecksum } from '../../secrets/ssh-keys.ts';
import { shownSealed } from '../../secrets/variables.ts';
import { getActionById } from '../../store/actions.ts';
import { forgetOverwrittenValues, type Db } from '../../store/database.ts';
import { getEnvironment } from '../../store/environments.ts';
import { getPipelineById } from '../../store/pipelines.ts';
import { getProject, getProjectById } from '../../store/projects.ts';
import type { VariableRow, WorkspaceRow } from '../../store/schema.ts';
import {
  createVariable,
  deleteVariable,
  findVariable,
  getVariable,
  listVariables,
  updateVariable,
  type NewVariable,
  type VariableScope,
} from '../../store/variables.ts';
import { accessOf } from '../access/route-access.ts';
import type { ApiContext } from '../context.ts';
import { Variable, VariableList } from '../schemas/resources.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { loadWorkspace, numericId } from '../lookup.ts';
import { presentVariableRow, type VariableOwners } from '../present/variable.ts';
import { AuthQuery, OneOf, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';

const Key = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' });
const Value = Type.String({ maxLength: 512 * 1024 });
export const VariableFields = {
  key: Key,
  value: Value,
  type: Type.Optional(OneOf(['VAR', 'FILE', 'SSH_KEY'] as const)),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  encrypted: Type.Optional(Type.Boolean()),
  settable: Type.Optional(Type.Boolean()),
  file_place: Type.Optional(OneOf(['CONTAINER', 'NONE'] as const)),
  file_path: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 1000 }), Type.Null()])),
  file_chmod: Type.Optional(Type.Union([Type.String({ pattern: '^[0-7]{3,4}$' }), Type.Null()])),
};
const ScopeFields = {
  project: Type.Optional(
    Type.Union([
      Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: true }),
      Type.Null(),
    ]),
  ),
  pipeline: Type.Optional(
    Type.Union([
      Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: true }),
      Type.Null(),
    ]),
  ),
  action: Type.Optional(
    Type.Union([
      Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: true }),
      Type.Null(),
    ]),
  ),
  environment: Type.Optional(
    Type.Union([
      Type.Object({ id: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: true }),
      Type.Null(),
    ]),
  ),
};
const CreateBody = Type.Object({ ...VariableFields, ...ScopeFields }, { additionalProperties: false });
const PatchBody = Type.Object(
  { ...Type.Partial(Type.Object(VariableFields)).properties, ...ScopeFields, ...ReadOnlyEcho },
  { additionalProperties: false },
);
// Buddy's docs name the filters in snake_case; its Go SDK sends projectName, pipelineId and actionId.
const ListQuery = Type.Object({
  project_name: Type.Optional(Type.String({ maxLength: 255 })),
  pipeline_id: Type.Optional(Type.Integer({ minimum: 1 })),
  action_id: Type.Optional(Type.Integer({ minimum: 1 })),
  environment_id: Type.Optional(Type.String({ maxLength: 32 })),
  projectName: Type.Optional(Type.String({ maxLength: 255 })),
  pipelineId: Type.Optional(Type.Integer({ minimum: 1 })),
  actionId: Type.Optional(Type.Integer({ minimum: 1 })),
  environmentId: Type.Optional(Type.String({ maxLength: 32 })),
  access_token: Type.Optional(Type.String()),
});

/** One filter, whichever spelling the client used; both spellings with different values are a mistake. */
function listFilter(q: Static<typeof ListQuery>): ScopeRequest {
  const pick = <T>(snake: T | undefined, camel: T | undefined, name: string): T | undefined => {
    if (snake !== undefined && camel !== undefined && snake !== camel)
      throw badRequest(`query: ${name} is given twice with different values`);
    return snake ?? camel;
  };
  return {
    project_name: pick(q.project_name, q.projectName, 'project_name'),
    pipeline_id: pick(q.pipeline_id, q.pipelineId, 'pipeline_id'),
    action_id: pick(q.action_id, q.actionId, 'action_id'),
    environment_id: pick(q.environment_id, q.environmentId, 'environment_id'),
  };
}
const IdParams = Type.Object({ ...WorkspaceParams.properties, id: Type.String({ maxLength: 32 }) });

interface ScopeRequest {
  project_name?: string | undefined;
  pipeline_id?: number | undefined;
  action_id?: number | undefined;
  environment_id?: string | undefined;
}

/** Resolves the object a variable hangs on, checking it belongs to the workspace. At most one may be named. */
export async function resolveVariableScope(
  db: Db,
  ws: WorkspaceRow,
  s: ScopeRequest,
): Promise<{ scope: VariableScope; owners: VariableOwners }> {
  const named = [s.project_name, s.pipeline_id, s.action_id, s.environment_id].filter((x) => x !== undefined);
  if (named.length > 1)
    throw badRequest('a variable belongs to one of project, pipeline, action or environment, not several');
  const scope: VariableScope = { workspaceId: ws.id };
  const owners: VariableOwners = {};
  if (s.project_name !== undefined) {
    const project = await getProject(db, ws.id, s.project_name);
    if (!project) throw notFound(`project "${s.project_name}" not found`);
    scope.projectId = project.id;
    owners.project = project;
  } else if (s.pipeline_id !== undefined) {
    const pipeline = await getPipelineById(db, s.pipeline_id);
    const project = pipeline && (await getProjectById(db, pipeline.projectId));
    if (!pipeline || !project || project.workspace_id !== ws.id)
      throw notFound(`pipeline ${s.pipeline_id} not found`);
    scope.pipelineId = pipeline.id;
    owners.pipeline = { id: pipeline.id, name: pipeline.name, projectName: project.name };
  } else if (s.action_id !== undefined) {
    const action = await getActionById(db, s.action_id);
    const pipeline = action && (await getPipelineById(db, action.pipelineId));
    const project = pipeline && (await getProjectById(db, pipeline.projectId));
    if (!action || !pipeline || !project || project.workspace_id !== ws.id)
      throw notFound(`action ${s.action_id} not found`);
    scope.actionId = action.id;
    owners.action = { id: action.id, name: action.name, pipelineId: pipeline.id, projectName: project.name };
  } else if (s.environment_id !== undefined) {
    const environment = await getEnvironment(db, ws.id, s.environment_id);
    if (!environment) throw notFound(`environment "${s.environment_id}" not found`);
    scope.environmentId = environment.id;
    owners.environment = environment;
  }
  return { scope, owners };
}

async function ownersOf(db: Db, ws: WorkspaceRow, v: VariableRow): Promise<VariableOwners> {
  return (
    await resolveVariableScope(db, ws, {
      project_name: v.project_id !== null ? (await getProjectById(db, v.project_id))?.name : undefined,
      pipeline_id: v.pipeline_id ?? undefined,
      action_id: v.action_id ?? undefined,
      environment_id: v.environment_id ?? undefined,
    })
  ).owners;
}

/** Checks type-specific rules and seals encrypted values; `previous` lets "!encrypted ..." keep a stored value. */
export function variableValues(
  ctx: ApiContext,
  body: Partial<Static<typeof CreateBody>>,
  previous: VariableRow | null,
): Omit<NewVariable, 'workspace_id' | 'project_id' | 'pipeline_id' | 'action_id' | 'environment_id'> {
  const type = body.type ?? (previous?.type as 'VAR' | 'FILE' | 'SSH_KEY' | undefined) ?? 'VAR';
  const encrypted =
    type === 'SSH_KEY' ? true : (body.encrypted ?? (previous ? previous.encrypted === 1 : false));
  const filePlace =
    body.file_place ??
    (previous?.file_place as 'CONTAINER' | 'NONE' | undefined) ??
    (type === 'VAR' ? 'NONE' : 'CONTAINER');
  const filePath = body.file_path !== undefined ? body.file_path : (previous?.file_path ?? null);
  if (type === 'VAR' && filePlace === 'CONTAINER')
    throw badRequest('file_place CONTAINER needs type FILE or SSH_KEY');
  if (filePlace === 'CONTAINER' && !filePath)
    throw badRequest(`a ${type} variable placed in the container needs file_path`);
  if (filePath && !filePath.startsWith('/') && !filePath.startsWith('~/'))
    throw badRequest('file_path must be absolute or start with ~/');
  let value: string;
  // Clear text of a newly sent value, to derive an SSH key's public half from.
  let sent: string | null = null;
  if (body.value === undefined) {
    if (!previous) throw badRequest('field "value" is required');
    if (previous.encrypted === 1 && !encrypted)
      throw badRequest('to stop encrypting a variable, send its new value');
    value = previous.encrypted === 0 && encrypted ? ctx.secrets.seal(previous.value) : previous.value;
  } else if (encrypted && previous?.encrypted === 1 && body.value === shownSealed(previous.value)) {
    value = previous.value;
  } else if (body.value.startsWith('!encrypted ')) {
    throw badRequest('an "!encrypted" value can only be sent back unchanged');
  } else {
    sent = body.value;
    value = encrypted ? ctx.secrets.seal(body.value) : body.value;
  }
  let ssh = {
    public_value: previous?.public_value ?? null,
    key_fingerprint: previous?.key_fingerprint ?? null,
    checksum: previous?.checksum ?? null,
  };
  if (type !== 'SSH_KEY') ssh = { public_value: null, key_fingerprint: null, checksum: null };
  else if (sent !== null || previous?.type !== 'SSH_KEY') {
    const clear = sent ?? ctx.secrets.open(value);
    const described = describeSshKey(clear);
    if (!described)
      throw badRequest(
        'an SSH_KEY value must be an unencrypted private key (OpenSSH format, or PEM as ssh-keygen -m PEM writes it)',
      );
    ssh = {
      public_value: described.publicKey,
      key_fingerprint: described.fingerprint,
      checksum: valueChecksum(clear),
    };
  }
  return {
    ...ssh,
    key: body.key ?? previous!.key,
    value,
    type,
    description: body.description !== undefined ? body.description : (previous?.description ?? null),
    encrypted: encrypted ? 1 : 0,
    settable: (body.settable ?? previous?.settable === 1) ? 1 : 0,
    file_place: filePlace,
    file_path: filePath,
    file_chmod:
      body.file_chmod !== undefined
        ? body.file_chmod
        : (previous?.file_chmod ?? (type === 'VAR' ? null : '600')),
  };
}

function scopeOfBody(body: Partial<Static<typeof CreateBody>>): ScopeRequest {
  return {
    project_name: body.project?.name,
    pipeline_id: body.pipeline?.id,
    action_id: body.action?.id,
    environment_id: body.environment?.id,
  };
}

/**
 * Every workspace and project starts with its own SSH key (Buddy's `id_workspace` and `id_project`):
 * its public half, shown as the variable's `public_value`, is what a user adds as a deploy key.
 */
export async function addGeneratedSshKey(
  db: Db,
  secrets: SecretBox,
  scope: { workspaceId: number; projectId?: number },
  comment: string,
): Promise<VariableRow> {
  const key = generateSshKey(comment);
  const name = scope.projectId === undefined ? 'id_workspace' : 'id_project';
  return createVariable(db, {
    workspace_id: scope.workspaceId,
    project_id: scope.projectId ?? null,
    pipeline_id: null,
    action_id: null,
    environment_id: null,
    key: name,
    value: secrets.seal(key.privateKey),
    type: 'SSH_KEY',
    description: `SSH key generated by Gantry; add its public key where ${comment} needs access`,
    encrypted: 1,
    settable: 0,
    file_place: 'NONE',
    file_path: `~/.ssh/${name}`,
    file_chmod: '600',
    public_value: key.publicKey,
    key_fingerprint: key.fingerprint,
    checksum: valueChecksum(key.privateKey),
  });
}

export function variableRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/variables';

  async function load(
    request: FastifyRequest,
    params: Static<typeof IdParams>,
  ): Promise<{ ws: WorkspaceRow; v: VariableRow }> {
    const ws = await loadWorkspace(db, request, params.workspace);
    const v = await getVariable(db, ws.id, numericId(params.id, 'variable'));
    if (!v) throw notFound(`variable ${params.id} not found`);
    return { ws, v };
  }

  app.get<{ Params: Static<typeof WorkspaceParams>; Querystring: Static<typeof ListQuery> }>(
    base,
    {
      config: { scope: 'VARIABLE_INFO', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: ListQuery, response: { 200: VariableList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const { scope, owners } = await resolveVariableScope(db, ws, listFilter(request.query));
      const access = accessOf(request);
      const rows = await access.visible(ws, await listVariables(db, scope), (v) =>
        access.variableLevel(ws, v),
      );
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/variables`),
        variables: rows.map((v) => presentVariableRow(urls, ws, v, owners)),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof CreateBody> }>(
    base,
    {
      config: { scope: 'VARIABLE_ADD', access: 'new-variable:READ_WRITE' },
      schema: {
        params: WorkspaceParams,
        body: CreateBody,
        querystring: AuthQuery,
        response: { 201: Variable },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const { scope, owners } = await resolveVariableScope(db, ws, scopeOfBody(request.body));
      if (await findVariable(db, scope, request.body.key))
        throw conflict(`variable "${request.body.key}" already exists at this level`);
      const row = await createVariable(db, {
        workspace_id: ws.id,
        project_id: scope.projectId ?? null,
        pipeline_id: scope.pipelineId ?? null,
        action_id: scope.actionId ?? null,
        environment_id: scope.environmentId ?? null,
        ...variableValues(ctx, request.body, null),
      });
      return reply.status(201).send(presentVariableRow(urls, ws, row, owners));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    `${base}/:id`,
    {
      config: { scope: 'VARIABLE_INFO', access: 'variable:READ_ONLY' },
      schema: { params: IdParams, querystring: AuthQuery, response: { 200: Variable } },
    },
    async (request) => {
      const { ws, v } = await load(request, request.params);
      return presentVariableRow(urls, ws, v, await ownersOf(db, ws, v));
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    `${base}/:id`,
    {
      config: { scope: 'VARIABLE_MANAGE', access: 'variable:READ_WRITE' },
      schema: { params: IdParams, body: PatchBody, querystring: AuthQuery, response: { 200: Variable } },
    },
    async (request) => {
      const { ws, v } = await load(request, request.params);
      const body = request.body;
      if (
        body.project !== undefined ||
        body.pipeline !== undefined ||
        body.action !== undefined ||
        body.environment !== undefined
      ) {
        const owners = await ownersOf(db, ws, v);
        const same =
          (body.project === undefined || body.project?.name === owners.project?.name) &&
          (body.pipeline === undefined || body.pipeline?.id === owners.pipeline?.id) &&
          (body.action === undefined || body.action?.id === owners.action?.id) &&
          (body.environment === undefined || body.environment?.id === owners.environment?.id);
        if (!same)
          throw badRequest('a variable cannot move to another level; create it there and delete this one');
      }
      if (body.key !== undefined && body.key !== v.key) {
        const scope: VariableScope = {
          workspaceId: ws.id,
          projectId: v.project_id,
          pipelineId: v.pipeline_id,
          actionId: v.action_id,
          environmentId: v.environment_id,
        };
        if (await findVariable(db, scope, body.key))
          throw conflict(`variable "${body.key}" already exists at this level`);
      }
      const updated = await updateVariable(db, v.id, variableValues(ctx, body, v));
      if (v.encrypted === 0 && updated.encrypted === 1) await forgetOverwrittenValues(db);
      return presentVariableRow(urls, ws, updated, await ownersOf(db, ws, updated));
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    `${base}/:id`,
    {
      config: { scope: 'VARIABLE_MANAGE', access: 'variable:READ_WRITE' },
      schema: { params: IdParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { v } = await load(request, request.params);
      await deleteVariable(db, v.id);
      return reply.status(204).send();
    },
  );
}
