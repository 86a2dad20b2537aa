import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { RunRequestBody } from '../../engine/run-request.ts';
import { getPipelineById } from '../../store/pipelines.ts';
import { getProjectById } from '../../store/projects.ts';
import { claimTotpStep, getTriggerWebhook } from '../../store/trigger-webhooks.ts';
import { getWorkspaceById } from '../../store/workspaces.ts';
import { totpStep, triggerTokenMatches } from '../../triggers/trigger-webhook.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, forbidden } from '../errors.ts';
import { InlineVariableSchema } from '../schemas/common.ts';

const Params = Type.Object({ pipeline_id: Type.Integer({ minimum: 1, maximum: 2 ** 31 }) });
const Query = Type.Object(
  {
    token: Type.Optional(Type.String({ maxLength: 200 })),
    totp: Type.Optional(Type.String({ maxLength: 16 })),
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    revision: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    comment: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
const Body = Type.Union([
  Type.Null(),
  Type.Object(
    {
      branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      tag: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      revision: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      comment: Type.Optional(Type.String({ maxLength: 1000 })),
      refresh: Type.Optional(Type.Boolean()),
      clear_cache: Type.Optional(Type.Boolean()),
      variables: Type.Optional(Type.Array(InlineVariableSchema, { maxItems: 100 })),
    },
    { additionalProperties: false },
  ),
]);

type Request = FastifyRequest<{
  Params: Static<typeof Params>;
  Querystring: Static<typeof Query>;
  Body: Static<typeof Body> | undefined;
}>;

/** One answer for every refusal, so a caller learns nothing about which part was wrong or whether the pipeline exists. */
const REFUSED = 'wrong trigger secret or TOTP code';

/**
 * The pipeline trigger webhook: `GET` or `POST /api/trigger/pipelines/:id` with the pipeline's
 * secret (`?token=` or `X-Gantry-Token`) and, when the event has `totp`, a current TOTP code
 * (`?totp=` or `X-Gantry-Totp`; each code is accepted once). Optional branch / tag / revision /
 * comment in the query or the JSON body, plus variables, refresh and clear_cache in the body.
 * Wrong secret or code: 403 and nothing runs.
 */
export function triggerWebhookRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const handler = async (request: Request) => {
    const header = (name: string): string | undefined => {
      const v = request.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const token = request.query.token ?? header('x-gantry-token') ?? '';
    const stored = await getTriggerWebhook(db, request.params.pipeline_id);
    const pipeline = stored && (await getPipelineById(db, request.params.pipeline_id));
    const event = pipeline?.settings.events.find((e) => e.type === 'WEBHOOK');
    if (!stored || !pipeline || !event || !triggerTokenMatches(token, stored.token_hash))
      throw forbidden(REFUSED);
    if (event.totp) {
      const code = request.query.totp ?? header('x-gantry-totp') ?? '';
      const step = stored.totp_secret ? totpStep(ctx.secrets.open(stored.totp_secret), code) : null;
      if (step === null || !(await claimTotpStep(db, pipeline.id, step))) throw forbidden(REFUSED);
    }
    const project = (await getProjectById(db, pipeline.projectId))!;
    const ws = (await getWorkspaceById(db, project.workspace_id))!;
    const b = request.body ?? {};
    const q = request.query;
    const branch = b.branch ?? q.branch;
    const tag = b.tag ?? q.tag;
    const revision = b.revision ?? q.revision;
    const comment = b.comment ?? q.comment;
    const body: RunRequestBody = {};
    if (branch) body.branch = { name: branch };
    if (tag) body.tag = { name: tag };
    if (revision) body.to_revision = { revision };
    if (comment !== undefined) body.comment = comment;
    if (b.refresh !== undefined) body.refresh = b.refresh;
    if (b.clear_cache !== undefined) body.clear_cache = b.clear_cache;
    if (b.variables) body.variables = b.variables;
    const result = await ctx.triggers.startRun(project, pipeline, {
      trigger: 'WEBHOOK',
      ref: branch ? `refs/heads/${branch}` : tag ? `refs/tags/${tag}` : null,
      body,
      origin: { triggeredOn: 'WEBHOOK' },
      creatorId: pipeline.creatorId,
    });
    // Conditions stopping a run is the pipeline working as configured, not a bad call.
    if ('skipped' in result && result.condition) return { triggered: false, reason: result.skipped };
    if ('skipped' in result) throw new ApiError(result.status, result.skipped);
    const e = result.execution;
    return {
      ...urls.pair(urls.execution(ws.domain, project.name, pipeline.id, e.id)),
      id: e.id,
      status: e.status,
      triggered_on: e.triggered_on,
      branch: e.branch,
      revision: e.revision,
    };
  };
  const options = {
    config: { scope: null },
    schema: { params: Params, querystring: Query, hide: true },
  };
  app.get('/trigger/pipelines/:pipeline_id', options, handler);
  app.post(
    '/trigger/pipelines/:pipeline_id',
    { ...options, schema: { ...options.schema, body: Body } },
    handler,
  );
}
