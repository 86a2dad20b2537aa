import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import {
  SUPPORTED_ACTION_TYPES,
  type ActionSecrets,
  type ActionSettings,
  type ActionType,
} from '../../domain/action.ts';
import {
  actionDefaults,
  checkActionSettings,
  isSupportedActionType,
} from '../../engine/action-types/registry.ts';
import { shownSealed, sealVariables } from '../../secrets/variables.ts';
import type { SecretBox } from '../../secrets/cipher.ts';
import {
  createAction,
  deleteAction,
  getActionRowWithPrevious,
  listActions,
  toAction,
  updateAction,
  type StoredAction,
} from '../../store/actions.ts';
import { allows } from '../../domain/access-levels.ts';
import { integrationUses } from '../../engine/run-permissions.ts';
import type { Db } from '../../store/database.ts';
import type { WorkspaceRow } from '../../store/schema.ts';
import { accessOf } from '../access/route-access.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import { loadAction, loadPipeline, numericId } from '../lookup.ts';
import { presentAction } from '../present/action.ts';
import { PresentedJsonCache, sendSerialized } from '../present/json-cache.ts';
import { ActionBodyEnvelope, checkActionBody, REQUIRED_FIELDS } from '../schemas/action.ts';
import { ActionParams, AuthQuery, PipelineParams } from '../schemas/common.ts';
import { Action, ActionList } from '../schemas/pipeline-response.ts';

type Body = Record<string, unknown>;

const NOT_SETTINGS = new Set([
  'name',
  'type',
  'after_action_id',
  'password',
  'url',
  'html_url',
  'id',
  'pipeline',
  'last_execution_status',
  'current_revision',
  'create_date',
]);

/** Where an action will stand: after `after` (null: first), or where it is, or last for a new one. */
function futurePosition(
  actions: readonly StoredAction[],
  after: number | null | undefined,
  self: StoredAction | null,
): number {
  if (after === undefined) return self ? self.position : Number.MAX_SAFE_INTEGER;
  if (after === null) return -1;
  return (actions.find((a) => a.id === after)?.position ?? 0) + 0.5;
}

/** Builds stored settings and sealed secrets from a validated body over `base`. */
function applyBody(
  box: SecretBox,
  body: Body,
  base: ActionSettings,
  baseSecrets: string,
): { settings: ActionSettings; sealedSecrets: string } {
  const settings = { ...base } as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(body)) {
    if (NOT_SETTINGS.has(key) || key === 'variables' || value === undefined) continue;
    settings[key] = value;
  }
  if (body.variables !== undefined) {
    const sealed = sealVariables(box, body.variables as Parameters<typeof sealVariables>[1], base.variables);
    if (typeof sealed === 'string') throw badRequest(sealed);
    settings.variables = sealed;
  }
  let sealedSecrets = baseSecrets;
  if (body.password === null || body.password === '') sealedSecrets = '';
  else if (
    typeof body.password === 'string' &&
    !(baseSecrets !== '' && body.password === shownSealed(baseSecrets))
  ) {
    if (body.password.startsWith('!encrypted '))
      throw badRequest('password: an "!encrypted" value can only be sent back unchanged');
    sealedSecrets = box.seal(JSON.stringify({ password: body.password } satisfies ActionSecrets));
  }
  return { settings: settings as unknown as ActionSettings, sealedSecrets };
}

function checkAfter(
  actions: readonly StoredAction[],
  after: unknown,
  selfId: number | null,
): number | null | undefined {
  if (after === undefined) return undefined;
  if (after === null || after === 0) return null;
  if (after === selfId) throw badRequest('after_action_id cannot name the action itself');
  if (!actions.some((a) => a.id === after))
    throw badRequest(`after_action_id ${String(after)} is not an action of this pipeline`);
  return after as number;
}

function previousId(actions: readonly StoredAction[], id: number): number | null {
  const index = actions.findIndex((a) => a.id === id);
  return index > 0 ? actions[index - 1]!.id : null;
}

/**
 * An action may only name an integration its editor may use (USE_ONLY): otherwise a pipeline editor
 * could lend themselves credentials they are denied. Checked on every save of an action that names
 * one, since other fields (the image, the registry) decide where its credentials go. A name no
 * integration has is stored as before (seed 004 names one; the run then fails naming it).
 */
async function assertMayNameIntegration(
  db: Db,
  request: FastifyRequest,
  ws: WorkspaceRow,
  projectId: number,
  action: { name: string; settings: object },
): Promise<void> {
  const [use] = await integrationUses(db, accessOf(request), ws, projectId, [action]);
  if (!use?.integration || allows(use.level, 'USE_ONLY')) return;
  throw forbidden(
    `integration "${use.identifier}": an action naming it needs USE_ONLY access to the integration; you have ${use.level}`,
  );
}

export function actionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls, secrets } = ctx;
  const base = '/workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/actions';

  app.get<{ Params: Static<typeof PipelineParams> }>(
    base,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipeline:READ_ONLY' },
      schema: { params: PipelineParams, querystring: AuthQuery, response: { 200: ActionList } },
    },
    async (request) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      const actions = await listActions(db, pipeline.id);
      return {
        ...urls.pair(`${urls.pipeline(ws.domain, project.name, pipeline.id)}/actions`),
        actions: actions.map((a, i) =>
          presentAction(urls, ws, project, pipeline, a, i > 0 ? actions[i - 1]!.id : null),
        ),
      };
    },
  );

  app.post<{ Params: Static<typeof PipelineParams>; Body: Body }>(
    base,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'pipeline:READ_WRITE' },
      schema: {
        params: PipelineParams,
        body: ActionBodyEnvelope,
        querystring: AuthQuery,
        response: { 201: Action },
      },
    },
    async (request, reply) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      const body = request.body;
      if (typeof body.type !== 'string') throw badRequest('field "type" is required');
      if (!isSupportedActionType(body.type)) {
        throw badRequest(
          `unsupported action type "${body.type}"; supported: ${SUPPORTED_ACTION_TYPES.join(', ')}`,
        );
      }
      const type: ActionType = body.type;
      for (const field of ['name', ...REQUIRED_FIELDS[type]]) {
        if (body[field] === undefined || body[field] === null)
          throw badRequest(`field "${field}" is required`);
      }
      const problem = checkActionBody(type, body);
      if (problem) throw badRequest(problem);
      const actions = await listActions(db, pipeline.id);
      const { settings, sealedSecrets } = applyBody(secrets, body, actionDefaults(type), '');
      const after = checkAfter(actions, body.after_action_id, null);
      const rule = checkActionSettings(type, settings, {
        actions,
        position: futurePosition(actions, after, null),
      });
      if (rule) throw badRequest(rule);
      await assertMayNameIntegration(db, request, ws, project.id, { name: body.name as string, settings });
      const created = await createAction(
        db,
        pipeline.id,
        { type, name: body.name as string, settings, sealedSecrets },
        after,
      );
      const all = await listActions(db, pipeline.id);
      return reply
        .status(201)
        .send(presentAction(urls, ws, project, pipeline, created, previousId(all, created.id)));
    },
  );

  // Each action's JSON, reused while its row and what it nests read the same (see PresentedJsonCache).
  const shown = new PresentedJsonCache<number>();
  app.get<{ Params: Static<typeof ActionParams> }>(
    `${base}/:action_id`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipeline:READ_ONLY' },
      schema: { params: ActionParams, querystring: AuthQuery, response: { 200: Action } },
    },
    async (request, reply) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      const id = numericId(request.params.action_id, 'action');
      const found = await getActionRowWithPrevious(db, pipeline.id, id);
      if (!found) throw notFound(`action ${id} not found in pipeline ${pipeline.id}`);
      const present = (): Record<string, unknown> =>
        presentAction(urls, ws, project, pipeline, toAction(found.row), found.previousId);
      const s = pipeline.settings;
      const json = shown.json(
        id,
        [
          ...Object.values(found.row),
          found.previousId,
          // What the nested pipeline and the URLs show.
          ws.domain,
          project.name,
          pipeline.id,
          pipeline.identifier,
          pipeline.name,
          s.on,
          JSON.stringify(s.refs),
          s.priority,
          pipeline.lastExecutionStatus,
          pipeline.lastExecutionRevision,
        ],
        () => reply.compileSerializationSchema(Action)(present()),
      );
      return sendSerialized(reply, json, present);
    },
  );

  app.patch<{ Params: Static<typeof ActionParams>; Body: Body }>(
    `${base}/:action_id`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'pipeline:READ_WRITE' },
      schema: {
        params: ActionParams,
        body: ActionBodyEnvelope,
        querystring: AuthQuery,
        response: { 200: Action },
      },
    },
    async (request) => {
      const { ws, project, pipeline, action } = await loadAction(db, request, request.params);
      const body = request.body;
      if (body.type !== undefined && body.type !== action.type)
        throw badRequest(`type cannot be changed (the action is ${action.type})`);
      const problem = checkActionBody(action.type, body);
      if (problem) throw badRequest(problem);
      for (const field of ['name', ...REQUIRED_FIELDS[action.type]]) {
        if (body[field] === null) throw badRequest(`field "${field}" cannot be null`);
      }
      const actions = await listActions(db, pipeline.id);
      const { settings, sealedSecrets } = applyBody(secrets, body, action.settings, action.sealedSecrets);
      const after = checkAfter(actions, body.after_action_id, action.id);
      const others = actions.filter((a) => a.id !== action.id);
      const rule = checkActionSettings(action.type, settings, {
        actions: others,
        position: futurePosition(others, after, action),
      });
      if (rule) throw badRequest(rule);
      const name = typeof body.name === 'string' ? body.name : action.name;
      await assertMayNameIntegration(db, request, ws, project.id, { name, settings });
      const updated = await updateAction(
        db,
        pipeline.id,
        action.id,
        { name, settings, sealedSecrets },
        after,
      );
      return presentAction(
        urls,
        ws,
        project,
        pipeline,
        updated,
        previousId(await listActions(db, pipeline.id), updated.id),
      );
    },
  );

  app.delete<{ Params: Static<typeof ActionParams> }>(
    `${base}/:action_id`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'pipeline:READ_WRITE' },
      schema: { params: ActionParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { action } = await loadAction(db, request, request.params);
      await deleteAction(db, action.id);
      return reply.status(204).send();
    },
  );
}
