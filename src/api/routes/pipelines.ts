import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import {
  PIPELINE_DEFAULTS,
  pipelineDefaults,
  slugify,
  type PipelineSettings,
} from '../../domain/pipeline.ts';
import {
  conditionProblem,
  eventProblem,
  normalizeCondition,
  normalizeEvent,
} from '../../domain/pipeline-events.ts';
import { sealVariables } from '../../secrets/variables.ts';
import { hasActiveExecutions } from '../../store/executions.ts';
import { getUser } from '../../store/identity.ts';
import {
  createPipeline,
  deletePipeline,
  identifierTaken,
  listPipelineRows,
  toPipeline,
  updatePipeline,
} from '../../store/pipelines.ts';
import { accessOf } from '../access/route-access.ts';
import { principalOf } from '../auth.ts';
import {
  rotateTriggerWebhook,
  syncTriggerWebhook,
  type ShownTriggerSecrets,
} from '../../triggers/trigger-webhook.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, conflict } from '../errors.ts';
import { loadPipeline, loadProject, pageOf } from '../lookup.ts';
import { presentMember } from '../present/identity.ts';
import { PresentedBytesCache, PresentedJsonCache, sendSerialized } from '../present/json-cache.ts';
import { presentPipeline, type SharedParts } from '../present/pipeline.ts';
import { presentProjectRef } from '../present/project.ts';
import type { PipelineRow } from '../../store/schema.ts';
import { AuthQuery, PageQuery, PipelineParams, ProjectParams } from '../schemas/common.ts';
import { checkedPermissions } from '../schemas/object-permissions.ts';
import { PipelineCreateBody, PipelinePatchBody } from '../schemas/pipeline.ts';
import { Pipeline, PipelineList, PipelineListHead } from '../schemas/pipeline-response.ts';
import { usersInWorkspace, workspaceAdminIds } from '../../store/members.ts';

type Body = Static<typeof PipelinePatchBody>;

/** Event types that start runs in this build (PULL_REQUEST and EMAIL are stored but never fire; see README). */
const ACCEPTED_EVENT_TYPES: ReadonlySet<string> = new Set([
  'PUSH',
  'CREATE_REF',
  'DELETE_REF',
  'SCHEDULE',
  'WEBHOOK',
  'PULL_REQUEST',
  'EMAIL',
]);
/** Refuses settings Gantry stores but cannot act on yet, so nobody relies on a trigger that never fires. */
function unsupported(s: PipelineSettings): string | null {
  for (const e of s.events) {
    if (!ACCEPTED_EVENT_TYPES.has(e.type))
      return `not supported yet: ${e.type} events; run pipelines with POST .../executions`;
  }
  if (s.events.length === 0 && s.on !== 'CLICK')
    return `not supported yet: "on": "${s.on}" without events; list the triggers in events`;
  if (s.events.filter((e) => e.type === 'WEBHOOK').length > 1)
    return 'a pipeline has at most one WEBHOOK event';
  return null;
}

/** Keys merged by hand below rather than copied over. */
const SPECIAL = new Set([
  'variables',
  'events',
  'trigger_conditions',
  'git_config',
  'remote_branch',
  'remote_ref',
  'permissions',
]);

/**
 * Applies the body's fields over `base`: null or absent leaves a value unchanged, `events` and
 * `trigger_conditions` replace the whole list, `remote_branch` and `remote_ref` mirror each other,
 * `git_config` exists only with git_config_ref FIXED. Encrypted variables are sealed.
 */
function mergeSettings(ctx: ApiContext, base: PipelineSettings, body: Body): PipelineSettings {
  const next: PipelineSettings = { ...base };
  const sent = body as Record<string, unknown>;
  for (const key of Object.keys(PIPELINE_DEFAULTS) as (keyof PipelineSettings)[]) {
    const value = sent[key];
    if (value !== undefined && value !== null && !SPECIAL.has(key))
      (next as unknown as Record<string, unknown>)[key] = value;
  }
  if (body.events != null) {
    next.events = body.events.map(normalizeEvent);
    next.events.forEach((e, i) => {
      const problem = eventProblem(e, i);
      if (problem) throw badRequest(problem);
    });
    const scheduled = (events: readonly { type: string }[]) => events.some((e) => e.type === 'SCHEDULE');
    // A pipeline that becomes scheduled gets Buddy's default pause threshold unless the request sets one.
    if (body.pause_on_repeated_failures == null && scheduled(next.events) && !scheduled(base.events))
      next.pause_on_repeated_failures = base.pause_on_repeated_failures || 100;
  }
  if (body.trigger_conditions != null) {
    next.trigger_conditions = body.trigger_conditions.map(normalizeCondition);
    next.trigger_conditions.forEach((c, i) => {
      const problem = conditionProblem(c, i);
      if (problem) throw badRequest(problem);
    });
  }
  const remoteRef = body.remote_ref ?? body.remote_branch;
  if (remoteRef != null) next.remote_ref = next.remote_branch = remoteRef;
  if (next.git_config_ref !== 'FIXED') next.git_config = null;
  else if (body.git_config != null)
    next.git_config = {
      project: body.git_config.project ?? '',
      branch: body.git_config.branch ?? '',
      path: body.git_config.path ?? '',
    };
  else if (next.git_config === null)
    throw badRequest('git_config_ref FIXED needs git_config {project, branch, path}');
  if (body.variables != null) {
    const sealed = sealVariables(ctx.secrets, body.variables, base.variables);
    if (typeof sealed === 'string') throw badRequest(sealed);
    next.variables = sealed;
  }
  const problem = unsupported(next);
  if (problem) throw badRequest(problem);
  return next;
}

/** Adds secrets created by this request (shown once) to the pipeline's trigger_webhook object. */
function withSecrets(body: Record<string, unknown>, shown: ShownTriggerSecrets): Record<string, unknown> {
  if (Object.keys(shown).length > 0 && body.trigger_webhook)
    body.trigger_webhook = { ...(body.trigger_webhook as object), ...shown };
  return body;
}

export function pipelineRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/projects/:project_name/pipelines';

  // Each listed pipeline's JSON, reused while its row and what it nests read the same (see PresentedJsonCache).
  const listed = new PresentedJsonCache<number>();
  // Each page's bytes, reused while every value it was made from reads the same (see PresentedBytesCache).
  const pages = new PresentedBytesCache<string>();
  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof PageQuery> }>(
    base,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipelines:READ_ONLY' },
      schema: { params: ProjectParams, querystring: PageQuery, response: { 200: PipelineList } },
    },
    async (request, reply) => {
      const { ws, project } = await loadProject(
        db,
        request,
        request.params.workspace,
        request.params.project_name,
      );
      const page = pageOf(request.query);
      const visible = await accessOf(request).pipelineFilter(ws, project.id);
      const { rows, total } = await listPipelineRows(db, project.id, page.limit, page.offset, visible);
      const { users, admins } = await usersInWorkspace(
        db,
        ws.id,
        rows.map((p) => p.creator_id),
      );
      const head = () => ({
        ...urls.pair(`${urls.project(ws.domain, project.name)}/pipelines`),
        page: page.page,
        page_size: page.perPage,
        total_page_count: Math.ceil(total / page.perPage),
        element_count: rows.length,
        total_element_count: total,
      });
      const shared: SharedParts = { creators: new Map() };
      const present = (row: PipelineRow): Record<string, unknown> =>
        presentPipeline(urls, ws, project, toPipeline(row), users.get(row.creator_id), admins, shared);
      const build = (): string => {
        // What a pipeline's JSON is made of besides its row: the nested project and creator, and the
        // names in its URLs.
        const projectJson = JSON.stringify((shared.project ??= presentProjectRef(urls, ws, project)));
        const creatorJson = new Map<number, string>();
        const creatorOf = (id: number): string => {
          let json = creatorJson.get(id);
          if (json === undefined) {
            const shown = presentMember(urls, ws, users.get(id), admins);
            shared.creators.set(id, shown);
            json = JSON.stringify(shown);
            creatorJson.set(id, json);
          }
          return json;
        };
        const item = reply.compileSerializationSchema(Pipeline);
        const items = rows.map((row) =>
          listed.json(
            row.id,
            [...Object.values(row), ws.domain, project.name, projectJson, creatorOf(row.creator_id)],
            () => item(present(row)),
          ),
        );
        const headJson = reply.compileSerializationSchema(PipelineListHead)(head());
        return `${headJson.slice(0, -1)},"pipelines":[${items.join(',')}]}`;
      };
      // Everything the page is made of, whole rows rather than the fields used (a superset, so nothing
      // the presenters read can be missed): the page's numbers, the workspace and project, each
      // pipeline, and each creator with their role. The counts come first, so every value has one place.
      const inputs: unknown[] = [page.page, page.perPage, total, rows.length, users.size];
      inputs.push(...Object.values(ws), ...Object.values(project));
      for (const row of rows) inputs.push(...Object.values(row));
      for (const [id, user] of users) inputs.push(id, admins.has(id), ...Object.values(user));
      // Callers who see different pipelines get entries of their own rather than replacing each other's.
      const key = `${project.id}/${page.page}/${page.perPage}${visible ? JSON.stringify(visible) : ''}`;
      return sendSerialized(reply, pages.bytes(key, inputs, build), () => ({
        ...head(),
        pipelines: rows.map(present),
      }));
    },
  );

  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof PipelineCreateBody> }>(
    base,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'pipelines:READ_WRITE' },
      schema: {
        params: ProjectParams,
        body: PipelineCreateBody,
        querystring: AuthQuery,
        response: { 201: Pipeline },
      },
    },
    async (request, reply) => {
      const { ws, project } = await loadProject(
        db,
        request,
        request.params.workspace,
        request.params.project_name,
      );
      const defaults = pipelineDefaults(request.body.definition_source ?? 'LOCAL', request.body.events ?? []);
      const settings = mergeSettings(ctx, defaults, request.body);
      if (request.body.permissions != null)
        settings.permissions = await checkedPermissions(db, ws, request.body.permissions);
      let identifier = request.body.identifier ?? undefined;
      if (identifier === undefined) {
        const stem = slugify(request.body.name);
        identifier = stem;
        for (let n = 2; await identifierTaken(db, project.id, identifier); n += 1)
          identifier = `${stem}-${n}`;
      } else if (await identifierTaken(db, project.id, identifier)) {
        throw conflict(`pipeline identifier "${identifier}" is taken in project "${project.name}"`);
      }
      const user = principalOf(request).user;
      const pipeline = await createPipeline(db, {
        projectId: project.id,
        name: request.body.name,
        identifier,
        creatorId: user.id,
        settings,
      });
      await ctx.triggers.schedules.sync(pipeline.id, settings);
      const shown = await syncTriggerWebhook(
        db,
        ctx.secrets,
        pipeline.id,
        `${ws.domain}/${project.name}/${pipeline.identifier}`,
        settings,
      );
      return reply
        .status(201)
        .send(
          withSecrets(
            presentPipeline(urls, ws, project, pipeline, user, await workspaceAdminIds(db, ws.id)),
            shown,
          ),
        );
    },
  );

  app.get<{ Params: Static<typeof PipelineParams> }>(
    `${base}/:pipeline_id`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipeline:READ_ONLY' },
      schema: { params: PipelineParams, querystring: AuthQuery, response: { 200: Pipeline } },
    },
    async (request) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      return presentPipeline(
        urls,
        ws,
        project,
        pipeline,
        await getUser(db, pipeline.creatorId),
        await workspaceAdminIds(db, ws.id),
      );
    },
  );

  app.patch<{ Params: Static<typeof PipelineParams>; Body: Body }>(
    `${base}/:pipeline_id`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'pipeline:READ_WRITE' },
      schema: {
        params: PipelineParams,
        body: PipelinePatchBody,
        querystring: AuthQuery,
        response: { 200: Pipeline },
      },
    },
    async (request) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      const body = request.body;
      const settings = mergeSettings(ctx, pipeline.settings, body);
      // Replaced whole, as Buddy does; null or absent leaves them.
      if (body.permissions != null) settings.permissions = await checkedPermissions(db, ws, body.permissions);
      const identifier = body.identifier ?? pipeline.identifier;
      if (
        identifier !== pipeline.identifier &&
        (await identifierTaken(db, project.id, identifier, pipeline.id))
      ) {
        throw conflict(`pipeline identifier "${identifier}" is taken in project "${project.name}"`);
      }
      if (body.clear_cache === true) await ctx.engine.clearCache(pipeline.id);
      const updated = await updatePipeline(db, pipeline.id, {
        name: body.name ?? pipeline.name,
        identifier,
        settings,
      });
      await ctx.triggers.schedules.sync(updated.id, settings);
      const shown = await syncTriggerWebhook(
        db,
        ctx.secrets,
        updated.id,
        `${ws.domain}/${project.name}/${updated.identifier}`,
        settings,
      );
      return withSecrets(
        presentPipeline(
          urls,
          ws,
          project,
          updated,
          await getUser(db, updated.creatorId),
          await workspaceAdminIds(db, ws.id),
        ),
        shown,
      );
    },
  );

  app.post<{ Params: Static<typeof PipelineParams> }>(
    `${base}/:pipeline_id/trigger-webhook/secrets`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'pipeline:READ_WRITE' },
      schema: { params: PipelineParams, querystring: AuthQuery, response: { 200: Pipeline } },
    },
    async (request) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      const label = `${ws.domain}/${project.name}/${pipeline.identifier}`;
      const shown = await rotateTriggerWebhook(db, ctx.secrets, pipeline.id, label, pipeline.settings);
      if (!shown) throw badRequest('the pipeline has no WEBHOOK event');
      return withSecrets(
        presentPipeline(
          urls,
          ws,
          project,
          pipeline,
          await getUser(db, pipeline.creatorId),
          await workspaceAdminIds(db, ws.id),
        ),
        shown,
      );
    },
  );

  app.delete<{ Params: Static<typeof PipelineParams> }>(
    `${base}/:pipeline_id`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'pipeline:READ_WRITE' },
      schema: { params: PipelineParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { pipeline } = await loadPipeline(db, request, request.params);
      if (await hasActiveExecutions(db, { pipelineId: pipeline.id })) {
        throw conflict('pipeline has executions queued or in progress; cancel them first');
      }
      await deletePipeline(db, pipeline.id);
      await ctx.engine.forgetPipeline(pipeline.id);
      return reply.status(204).send();
    },
  );
}
