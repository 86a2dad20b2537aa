import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { PRIORITIES, isFinalExecutionStatus } from '../../domain/status.ts';
import { ExecutionStateError } from '../../engine/engine.ts';
import { acceptRunRequest, RunRequestError } from '../../engine/run-request.ts';
import { listActions } from '../../store/actions.ts';
import {
  eventsSince,
  getActionExecution,
  getExecution,
  listActionExecutions,
  listExecutions,
  updateExecutionFields,
} from '../../store/executions.ts';
import { findEnvironmentForProject, getEnvironment, listEnvironments } from '../../store/environments.ts';
import { getUsers } from '../../store/identity.ts';
import type { EnvironmentRow, ExecutionRow, WorkspaceRow } from '../../store/schema.ts';
import { allows } from '../../domain/access-levels.ts';
import { integrationUses } from '../../engine/run-permissions.ts';
import type { Db } from '../../store/database.ts';
import { findPackageForProject } from '../../store/packages.ts';
import { parseJson } from '../../store/time.ts';
import { accessOf } from '../access/route-access.ts';
import { principalOf } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../errors.ts';
import { loadPipeline, numericId, pageOf } from '../lookup.ts';
import { presentActionExecution, presentExecution, type ExecutionView } from '../present/execution.ts';
import { AuthQuery, InlineVariableSchema, OneOf, PageQuery, PipelineParams } from '../schemas/common.ts';
import { ActionExecution, Execution, ExecutionList, LogPage } from '../schemas/execution.ts';
import { workspaceAdminIds } from '../../store/members.ts';
import { EventStream } from '../schemas/response.ts';

const RevisionRef = Type.Object(
  { revision: Type.String({ minLength: 1, maxLength: 255 }) },
  { additionalProperties: true },
);
const NameRef = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 255 }) },
  { additionalProperties: true },
);
const RunBody = Type.Object(
  {
    to_revision: Type.Optional(RevisionRef),
    from_revision: Type.Optional(RevisionRef),
    branch: Type.Optional(NameRef),
    tag: Type.Optional(NameRef),
    comment: Type.Optional(Type.String({ maxLength: 10_000 })),
    refresh: Type.Optional(Type.Boolean()),
    clear_cache: Type.Optional(Type.Boolean()),
    priority: Type.Optional(OneOf(PRIORITIES)),
    delay_until: Type.Optional(Type.String({ format: 'date-time', maxLength: 64 })),
    environment: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    package_version: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[^:]+:[^:]+$' })),
    actions_to_run: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 500 })),
    variables: Type.Optional(Type.Array(InlineVariableSchema, { maxItems: 200 })),
  },
  { additionalProperties: false },
);
const ExecutionParams = Type.Object({
  ...PipelineParams.properties,
  execution_id: Type.String({ maxLength: 32 }),
});
const ActionExecutionParams = Type.Object({
  ...ExecutionParams.properties,
  action_execution_id: Type.String({ maxLength: 64 }),
});
const OperationBody = Type.Object(
  {
    operation: OneOf(['CANCEL', 'RETRY', 'APPLY', 'APPLY_VARIABLES', 'RUN_DELAYED'] as const),
    variables: Type.Optional(Type.Array(InlineVariableSchema, { maxItems: 200 })),
    comment: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);
const LogQuery = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  access_token: Type.Optional(Type.String()),
});

type ExecParams = Static<typeof ExecutionParams>;

/**
 * Running in an environment needs USE_ONLY on it besides RUN_ONLY on the pipeline: a caller who may
 * not see the environment gets the same 404 as for a missing one. (Whether the environment lets the
 * pipeline in at all is acceptRunRequest's check, for every kind of run.)
 */
async function assertMayUseEnvironment(
  request: FastifyRequest,
  ws: WorkspaceRow,
  env: EnvironmentRow,
): Promise<void> {
  const level = await accessOf(request).environmentLevel(ws, env);
  if (level === 'DENIED') throw notFound(`environment "${env.identifier}" not found`);
  if (!allows(level, 'USE_ONLY'))
    throw forbidden(
      `running in environment "${env.identifier}" needs USE_ONLY access to it; you have ${level}`,
    );
}

/**
 * A retry runs the execution's actions again for the caller: each integration they name needs
 * USE_ONLY from the caller too (the run start checks the user who first started the run).
 */
async function assertMayUseIntegrations(
  db: Db,
  request: FastifyRequest,
  ws: WorkspaceRow,
  projectId: number,
  executionId: number,
): Promise<void> {
  const actions = (await listActionExecutions(db, [executionId])).map((row) =>
    parseJson<{ name: string; settings: object }>(row.action_snapshot),
  );
  const uses = await integrationUses(db, accessOf(request), ws, projectId, actions);
  const denied = uses.find((u) => u.integration && !allows(u.level, 'USE_ONLY'));
  if (denied)
    throw forbidden(
      `action "${denied.action}" uses integration "${denied.identifier}", which you may not use (your access to it is ${denied.level})`,
    );
}

export function executionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls, engine } = ctx;
  // Open event streams end when the server closes: one left open (a run still going) would keep
  // close() waiting on its connection, and the engine is only stopped after that.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of openStreams) end();
  });
  const base = '/workspaces/:workspace/projects/:project_name/pipelines/:pipeline_id/executions';

  async function view(
    request: FastifyRequest,
    params: Static<typeof PipelineParams>,
    creators: number[],
  ): Promise<ExecutionView> {
    const found = await loadPipeline(db, request, params);
    const users = await getUsers(db, [...creators, found.pipeline.creatorId]);
    const environments = new Map((await listEnvironments(db, found.ws.id)).map((e) => [e.id, e]));
    return { ...found, users, environments, admins: await workspaceAdminIds(db, found.ws.id) };
  }

  async function loadExecution(
    request: FastifyRequest,
    params: ExecParams,
  ): Promise<{ v: ExecutionView; e: ExecutionRow }> {
    const id = numericId(params.execution_id, 'execution');
    const e = await getExecution(db, id);
    const v = await view(request, params, e ? [e.creator_id] : []);
    if (!e || e.pipeline_id !== v.pipeline.id)
      throw notFound(`execution ${id} not found in pipeline ${v.pipeline.id}`);
    return { v, e };
  }

  async function present(v: ExecutionView, e: ExecutionRow): Promise<Record<string, unknown>> {
    return presentExecution(
      urls,
      v,
      e,
      await listActionExecutions(db, [e.id]),
      await listActions(db, v.pipeline.id),
    );
  }

  app.post<{ Params: Static<typeof PipelineParams>; Body: Static<typeof RunBody> }>(
    base,
    {
      config: { scope: 'EXECUTION_RUN', access: 'pipeline:RUN_ONLY' },
      schema: { params: PipelineParams, body: RunBody, querystring: AuthQuery, response: { 200: Execution } },
    },
    async (request) => {
      const found = await loadPipeline(db, request, request.params);
      if (request.body.environment !== undefined) {
        const env = await findEnvironmentForProject(
          db,
          found.ws.id,
          found.project.id,
          request.body.environment,
        );
        // A missing one is acceptRunRequest's 404.
        if (env) await assertMayUseEnvironment(request, found.ws, env);
      }
      if (request.body.package_version !== undefined) {
        // The pinned version is mounted into the run: the caller must be able to read the package
        // (one they may not see gets the 404 of a missing one).
        const identifier = request.body.package_version.split(':')[0] ?? '';
        const pkg = await findPackageForProject(db, found.ws.id, found.project.id, identifier);
        if (pkg && (await accessOf(request).packageLevel(found.ws, pkg)) === 'DENIED')
          throw notFound(`package "${identifier}" not found`);
      }
      // As the action routes require to edit an action: the scope and write access to the pipeline.
      const mayEditActions =
        principalOf(request).scopes.has('EXECUTION_MANAGE') &&
        allows(await accessOf(request).pipelineLevel(found.ws, found.pipeline), 'READ_WRITE');
      let e: ExecutionRow;
      try {
        e = await acceptRunRequest(
          ctx,
          found.project,
          found.pipeline,
          request.body,
          principalOf(request).user.id,
          { triggeredOn: 'CLICK', mayEditActions },
        );
      } catch (err) {
        if (err instanceof RunRequestError) throw new ApiError(err.status, err.message);
        throw err;
      }
      try {
        const v = await view(request, request.params, [e.creator_id]);
        return await present(v, (await getExecution(db, e.id)) ?? e);
      } finally {
        // The scheduler looks at the queue once this answer is written: woken before it, the scheduler
        // claimed the run (and wrote its start) between the answer's own steps, so the caller waited
        // for the claim and the answer came after the run's start.
        setImmediate(() => engine.enqueued(e.id));
      }
    },
  );

  app.get<{ Params: Static<typeof PipelineParams>; Querystring: Static<typeof PageQuery> }>(
    base,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipeline:READ_ONLY' },
      schema: { params: PipelineParams, querystring: PageQuery, response: { 200: ExecutionList } },
    },
    async (request) => {
      const found = await loadPipeline(db, request, request.params);
      const page = pageOf(request.query);
      const { rows, total } = await listExecutions(db, found.pipeline.id, page.limit, page.offset);
      const v = await view(
        request,
        request.params,
        rows.map((r) => r.creator_id),
      );
      const actionRows = await listActionExecutions(
        db,
        rows.map((r) => r.id),
      );
      const current = await listActions(db, v.pipeline.id);
      return {
        ...urls.pair(`${urls.pipeline(v.ws.domain, v.project.name, v.pipeline.id)}/executions`),
        page: page.page,
        page_size: page.perPage,
        total_page_count: Math.ceil(total / page.perPage),
        element_count: rows.length,
        total_element_count: total,
        executions: rows.map((e) =>
          presentExecution(
            urls,
            v,
            e,
            actionRows.filter((a) => a.execution_id === e.id),
            current,
          ),
        ),
      };
    },
  );

  app.get<{ Params: ExecParams }>(
    `${base}/:execution_id`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipeline:READ_ONLY' },
      schema: { params: ExecutionParams, querystring: AuthQuery, response: { 200: Execution } },
    },
    async (request) => {
      const { v, e } = await loadExecution(request, request.params);
      return present(v, e);
    },
  );

  app.patch<{ Params: ExecParams; Body: Static<typeof OperationBody> }>(
    `${base}/:execution_id`,
    {
      config: { scope: 'EXECUTION_RUN', access: 'pipeline:RUN_ONLY' },
      schema: {
        params: ExecutionParams,
        body: OperationBody,
        querystring: AuthQuery,
        response: { 200: Execution },
      },
    },
    async (request) => {
      const { v, e } = await loadExecution(request, request.params);
      const op = request.body.operation;
      try {
        if (op === 'CANCEL') await engine.cancel(e.id, principalOf(request).user.id);
        else if (op === 'RETRY') {
          const env = e.environment_id ? await getEnvironment(db, v.ws.id, e.environment_id) : undefined;
          if (env) await assertMayUseEnvironment(request, v.ws, env);
          await assertMayUseIntegrations(db, request, v.ws, v.project.id, e.id);
          await engine.retry(e.id);
        } else if (op === 'APPLY') {
          // Who may run the pipeline (RUN_ONLY or more, the route's access) approves its gates.
          if (e.status !== 'WAITING_FOR_APPLY')
            throw badRequest(
              `execution ${e.id} is ${e.status}, not waiting for an approval; only a WAITING_FOR_APPLY execution can be approved`,
            );
          if (request.body.variables !== undefined)
            throw badRequest('APPLY takes no variables (APPLY_VARIABLES is not supported yet)');
          const { user } = principalOf(request);
          await engine.apply(e.id, user, request.body.comment ?? null);
        } else if (op === 'RUN_DELAYED') {
          if (e.status !== 'ENQUEUED' || e.delay_until === null)
            throw conflict(`execution ${e.id} is not waiting for its delay_until`);
          await updateExecutionFields(db, e.id, { delay_until: null });
          engine.enqueued(e.id);
        } else
          throw badRequest(
            `not supported yet: operation ${op} (variable prompts, WAITING_FOR_VARIABLES, are not built)`,
          );
      } catch (err) {
        if (err instanceof ExecutionStateError) throw conflict(err.message);
        throw err;
      }
      return present(v, (await getExecution(db, e.id))!);
    },
  );

  app.get<{ Params: Static<typeof ActionExecutionParams> }>(
    `${base}/:execution_id/action_executions/:action_execution_id`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipeline:READ_ONLY' },
      schema: { params: ActionExecutionParams, querystring: AuthQuery, response: { 200: ActionExecution } },
    },
    async (request) => {
      const { v, e } = await loadExecution(request, request.params);
      const a = await getActionExecution(db, e.id, request.params.action_execution_id);
      if (!a)
        throw notFound(
          `action execution "${request.params.action_execution_id}" not found in execution ${e.id}`,
        );
      return presentActionExecution(urls, v, e, a);
    },
  );

  app.get<{ Params: Static<typeof ActionExecutionParams>; Querystring: Static<typeof LogQuery> }>(
    `${base}/:execution_id/action_executions/:action_execution_id/logs`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'pipeline:READ_ONLY' },
      schema: { params: ActionExecutionParams, querystring: LogQuery, response: { 200: LogPage } },
    },
    async (request) => {
      const { v, e } = await loadExecution(request, request.params);
      const a = await getActionExecution(db, e.id, request.params.action_execution_id);
      if (!a)
        throw notFound(
          `action execution "${request.params.action_execution_id}" not found in execution ${e.id}`,
        );
      const offset = request.query.offset ?? 0;
      const limit = request.query.limit ?? 100;
      const logs = await ctx.logs.readLines(a.id, offset, limit);
      const total = a.status === 'INPROGRESS' ? Math.max(offset + logs.length, a.log_lines) : a.log_lines;
      return {
        ...urls.pair(
          `${urls.execution(v.ws.domain, v.project.name, v.pipeline.id, e.id)}/action_executions/${a.id}/logs`,
        ),
        offset,
        limit,
        element_count: logs.length,
        total_element_count: total,
        logs,
      };
    },
  );

  // Server-Sent Events: status changes of an execution, resumable with Last-Event-ID.
  app.get<{ Params: ExecParams }>(
    `${base}/:execution_id/events`,
    {
      config: { scope: 'EXECUTION_INFO', stream: true, access: 'pipeline:READ_ONLY' },
      schema: { params: ExecutionParams, querystring: StreamQuery, response: { 200: EventStream } },
    },
    async (request, reply) => {
      const { e } = await loadExecution(request, request.params);
      let last = Number(lastEventId(request) ?? 0) || 0;
      await streamEvents(
        openStreams,
        request,
        reply,
        engine.changes,
        'execution',
        (id) => id === e.id,
        async (send) => {
          for (const ev of await eventsSince(db, e.id, last)) {
            send(String(ev.id), ev.type, ev.payload);
            last = ev.id;
          }
          const current = await getExecution(db, e.id);
          return (
            current !== undefined &&
            isFinalExecutionStatus(current.status) &&
            (await eventsSince(db, e.id, last)).length === 0
          );
        },
      );
    },
  );

  // Server-Sent Events: an action execution's log, one event per line (id = line number).
  app.get<{ Params: Static<typeof ActionExecutionParams> }>(
    `${base}/:execution_id/action_executions/:action_execution_id/logs/stream`,
    {
      config: { scope: 'EXECUTION_INFO', stream: true, access: 'pipeline:READ_ONLY' },
      schema: { params: ActionExecutionParams, querystring: StreamQuery, response: { 200: EventStream } },
    },
    async (request, reply) => {
      const { e } = await loadExecution(request, request.params);
      const aeid = request.params.action_execution_id;
      if (!(await getActionExecution(db, e.id, aeid)))
        throw notFound(`action execution "${aeid}" not found in execution ${e.id}`);
      const header = lastEventId(request);
      let next = header === undefined ? 0 : Number(header) + 1 || 0;
      await streamEvents(
        openStreams,
        request,
        reply,
        engine.changes,
        'execution',
        (id) => id === e.id,
        async (send) => {
          // Read the status first: lines written before a final status are all on disk by then.
          const a = await getActionExecution(db, e.id, aeid);
          for (;;) {
            const lines = await ctx.logs.readLines(aeid, next, 1000);
            for (const line of lines) {
              send(String(next), 'log', line);
              next += 1;
            }
            if (lines.length < 1000) break;
          }
          // A gate's log goes on when it is approved ("Approved by ..."): its stream stays open while it waits.
          return (
            a === undefined || !['INPROGRESS', 'ENQUEUED', 'INITIAL', 'WAITING_FOR_APPLY'].includes(a.status)
          );
        },
        ctx.logs.events,
        aeid,
      );
    },
  );
}

/** The query of a Server-Sent Events route: a stream ticket, and where to resume for a client that cannot send Last-Event-ID. */
export const StreamQuery = Type.Object({
  access_token: Type.Optional(Type.String()),
  ticket: Type.Optional(Type.String({ maxLength: 128 })),
  last_event_id: Type.Optional(Type.String({ maxLength: 32 })),
});

/** The stream position a client resumes after: the Last-Event-ID header (EventSource's own reconnects) or `?last_event_id=` (a new EventSource with a new ticket). */
export function lastEventId(request: FastifyRequest): string | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
  const q = (request.query as { last_event_id?: string } | undefined)?.last_event_id;
  return q === undefined || q === '' ? undefined : q;
}

/**
 * Writes an SSE stream: `pump` sends what is new and says whether the stream is complete; it runs
 * at start, whenever `emitter` reports a relevant change, and every 2 s as a safety net.
 */
export async function streamEvents(
  openStreams: Set<() => void>,
  request: FastifyRequest,
  reply: FastifyReply,
  emitter: NodeJS.EventEmitter,
  event: string,
  relevant: (id: number) => boolean,
  pump: (send: (id: string, type: string, data: string) => void) => Promise<boolean>,
  extraEmitter?: NodeJS.EventEmitter,
  extraEvent?: string,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  // Without this Node holds the head back until the first event, and an idle stream looks unanswered.
  res.flushHeaders();
  // An empty id sends no id field, which leaves the client's last event id as it was.
  const send = (id: string, type: string, data: string): void => {
    res.write(
      `${id === '' ? '' : `id: ${id}\n`}event: ${type}\n${data
        .split('\n')
        .map((l) => `data: ${l}`)
        .join('\n')}\n\n`,
    );
  };
  let busy = false;
  let again = false;
  let closed = false;
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      if (closed) return;
      closed = true;
      openStreams.delete(finish);
      emitter.off(event, onChange);
      if (extraEmitter && extraEvent) extraEmitter.off(extraEvent, onLine);
      clearInterval(timer);
      if (pending) clearTimeout(pending);
      res.end();
      resolve();
    };
    const run = (): void => {
      if (closed) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      pump(send)
        .then((complete) => {
          busy = false;
          if (complete) {
            // No id: a client that reconnects after the end (EventSource does) must resume after the
            // last real event, not replay the whole stream.
            send('', 'end', '');
            finish();
          } else if (again) {
            again = false;
            run();
          }
        })
        .catch((err: unknown) => {
          request.log.error({ err }, 'event stream failed');
          finish();
        });
    };
    const onChange = (id: number): void => {
      if (relevant(id)) run();
    };
    let pending: NodeJS.Timeout | null = null;
    const onLine = (): void => {
      pending ??= setTimeout(() => {
        pending = null;
        run();
      }, 50);
    };
    emitter.on(event, onChange);
    if (extraEmitter && extraEvent) extraEmitter.on(extraEvent, onLine);
    const timer = setInterval(run, 2000);
    request.raw.on('close', finish);
    openStreams.add(finish);
    run();
  });
}
