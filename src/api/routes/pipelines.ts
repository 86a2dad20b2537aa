import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { PIPELINE_DEFAULTS, slugify, type PipelineSettings } from '../../domain/pipeline.ts';
import { sealVariables } from '../../secrets/variables.ts';
import { hasActiveExecutions } from '../../store/executions.ts';
import { getUser, getUsers } from '../../store/identity.ts';
import {
  createPipeline,
  deletePipeline,
  identifierTaken,
  listPipelines,
  updatePipeline,
} from '../../store/pipelines.ts';
import { principalOf } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, conflict } from '../errors.ts';
import { loadPipeline, loadProject, pageOf } from '../lookup.ts';
import { presentPipeline } from '../present/pipeline.ts';
import { AuthQuery, PageQuery, PipelineParams, ProjectParams } from '../schemas/common.ts';
import { PipelineCreateBody, PipelinePatchBody } from '../schemas/pipeline.ts';

type Body = Static<typeof PipelinePatchBody>;

/** Refuses settings Gantry stores but cannot act on yet, so nobody relies on a trigger that never fires. */
function unsupported(s: PipelineSettings): string | null {
  if (s.events.length > 0 || s.on === 'EVENT' || s.on === 'SCHEDULE') {
    return 'not supported yet: pipeline events and schedules (PUSH, SCHEDULE, ...); run pipelines with POST .../executions';
  }
  if (s.trigger_conditions.length > 0) return 'not supported yet: pipeline trigger_conditions';
  if (s.definition_source === 'REMOTE' || s.git_config_ref !== 'NONE')
    return 'not supported yet: pipelines defined in the repository (YAML)';
  if (s.cpu === 'ARM') return 'not supported yet: ARM workers';
  return null;
}

/** Applies the body's fields over `base`, sealing encrypted variables. */
function mergeSettings(ctx: ApiContext, base: PipelineSettings, body: Body): PipelineSettings {
  const { name: _n, identifier: _i, variables, clear_cache: _c, ...rest } = body;
  const next: PipelineSettings = { ...base };
  for (const key of Object.keys(PIPELINE_DEFAULTS) as (keyof PipelineSettings)[]) {
    const value = (rest as Record<string, unknown>)[key];
    if (value !== undefined && key !== 'variables') (next as unknown as Record<string, unknown>)[key] = value;
  }
  if (variables !== undefined) {
    const sealed = sealVariables(ctx.secrets, variables, base.variables);
    if (typeof sealed === 'string') throw badRequest(sealed);
    next.variables = sealed;
  }
  const problem = unsupported(next);
  if (problem) throw badRequest(problem);
  return next;
}

export function pipelineRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/projects/:project_name/pipelines';

  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof PageQuery> }>(
    base,
    { config: { scope: 'EXECUTION_INFO' }, schema: { params: ProjectParams, querystring: PageQuery } },
    async (request) => {
      const { ws, project } = await loadProject(
        db,
        request,
        request.params.workspace,
        request.params.project_name,
      );
      const page = pageOf(request.query);
      const { rows, total } = await listPipelines(db, project.id, page.limit, page.offset);
      const users = await getUsers(
        db,
        rows.map((p) => p.creatorId),
      );
      return {
        ...urls.pair(`${urls.project(ws.domain, project.name)}/pipelines`),
        page: page.page,
        page_size: page.perPage,
        total_page_count: Math.ceil(total / page.perPage),
        element_count: rows.length,
        total_element_count: total,
        pipelines: rows.map((p) => presentPipeline(urls, ws, project, p, users.get(p.creatorId))),
      };
    },
  );

  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof PipelineCreateBody> }>(
    base,
    {
      config: { scope: 'EXECUTION_MANAGE' },
      schema: { params: ProjectParams, body: PipelineCreateBody, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { ws, project } = await loadProject(
        db,
        request,
        request.params.workspace,
        request.params.project_name,
      );
      const settings = mergeSettings(ctx, PIPELINE_DEFAULTS, request.body);
      let identifier = request.body.identifier;
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
      return reply.status(201).send(presentPipeline(urls, ws, project, pipeline, user));
    },
  );

  app.get<{ Params: Static<typeof PipelineParams> }>(
    `${base}/:pipeline_id`,
    { config: { scope: 'EXECUTION_INFO' }, schema: { params: PipelineParams, querystring: AuthQuery } },
    async (request) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      return presentPipeline(urls, ws, project, pipeline, await getUser(db, pipeline.creatorId));
    },
  );

  app.patch<{ Params: Static<typeof PipelineParams>; Body: Body }>(
    `${base}/:pipeline_id`,
    {
      config: { scope: 'EXECUTION_MANAGE' },
      schema: { params: PipelineParams, body: PipelinePatchBody, querystring: AuthQuery },
    },
    async (request) => {
      const { ws, project, pipeline } = await loadPipeline(db, request, request.params);
      const body = request.body;
      const settings = mergeSettings(ctx, pipeline.settings, body);
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
      return presentPipeline(urls, ws, project, updated, await getUser(db, updated.creatorId));
    },
  );

  app.delete<{ Params: Static<typeof PipelineParams> }>(
    `${base}/:pipeline_id`,
    { config: { scope: 'EXECUTION_MANAGE' }, schema: { params: PipelineParams, querystring: AuthQuery } },
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
