import path from 'node:path';
import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InlineVariableSchema } from '../schemas/common.ts';
import { LeaseLostError } from '../../engine/worker-hub.ts';
import { pinnedPackageOf } from '../../engine/package-pin.ts';
import { archiveMissing, PackageStore } from '../../packages/package-store.ts';
import { getPackageVersion } from '../../store/packages.ts';
import { PACKAGE_FORMAT_HEADER, PACKAGE_SHA256_HEADER, SESSION_HEADER } from '../../engine/worker-wire.ts';
import { handleGitHttp, isPushRequest } from '../../repo/index.ts';
import type { InlineVariable } from '../../domain/pipeline.ts';
import type { WorkerRow } from '../../store/schema.ts';
import { executionsOfWorker, listWorkers, workerTags } from '../../store/workers.ts';
import { principalOf } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, errorBody } from '../errors.ts';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' });
const RegisterBody = Type.Object(
  {
    name: Name,
    tags: Type.Array(Name, { maxItems: 50 }),
    cpu: Type.Union([Type.Literal('X64'), Type.Literal('ARM')]),
    concurrency: Type.Integer({ minimum: 1, maximum: 256 }),
    version: Type.String({ maxLength: 100 }),
  },
  { additionalProperties: false },
);
const HeartbeatBody = Type.Object(
  { running: Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1000 }) },
  { additionalProperties: false },
);
const ExecutionParams = Type.Object({ execution_id: Type.Integer({ minimum: 1 }) });
const StepParams = Type.Object({
  execution_id: Type.Integer({ minimum: 1 }),
  step_id: Type.String({ pattern: '^[0-9a-f]{24}$' }),
});
const EndStatus = Type.Union([
  Type.Literal('SUCCESSFUL'),
  Type.Literal('FAILED'),
  Type.Literal('TERMINATED'),
]);
const StartedBody = Type.Object(
  { passed: Type.Array(InlineVariableSchema, { maxItems: 10000 }) },
  { additionalProperties: false },
);
const EndedBody = Type.Object(
  {
    status: EndStatus,
    error: Type.Union([Type.String({ maxLength: 100_000 }), Type.Null()]),
    outputs: Type.Array(InlineVariableSchema, { maxItems: 10000 }),
    log_lines: Type.Integer({ minimum: 0 }),
    /** The size of the step's log on the worker: a server holding less asks for the rest first. */
    log_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
const SkippedBody = Type.Object(
  {
    step_ids: Type.Array(Type.String({ pattern: '^[0-9a-f]{24}$' }), { maxItems: 1000 }),
    status: Type.Union([Type.Literal('SKIPPED'), Type.Literal('NOT_EXECUTED')]),
  },
  { additionalProperties: false },
);
const ContainerBody = Type.Object(
  { container_id: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]) },
  { additionalProperties: false },
);
const LogQuery = Type.Object({ offset: Type.Integer({ minimum: 0 }) });
const RegistryBody = Type.Object(
  { identifier: Type.String({ maxLength: 255 }) },
  { additionalProperties: false },
);
const SettableBody = Type.Object(
  {
    stored_id: Type.Integer({ minimum: 1 }),
    value: Type.String({ maxLength: 1_000_000 }),
    encrypted: Type.Boolean(),
  },
  { additionalProperties: false },
);
const WaitingBody = Type.Object(
  { question: Type.Union([Type.String({ maxLength: 100_000 }), Type.Null()]) },
  { additionalProperties: false },
);
const DoneBody = Type.Object(
  { status: EndStatus, error: Type.Union([Type.String({ maxLength: 100_000 }), Type.Null()]) },
  { additionalProperties: false },
);

/** Inline variables as the schema lets them arrive (flags optional) → the domain's shape. */
function variables(vs: Static<typeof StartedBody>['passed']): InlineVariable[] {
  return vs.map((v) => ({
    key: v.key,
    value: v.value,
    encrypted: v.encrypted ?? false,
    settable: v.settable ?? false,
  }));
}

type Ep = { Params: Static<typeof ExecutionParams> };
type Sp = { Params: Static<typeof StepParams> };
const WORKER = { scope: 'WORKER', access: 'user' } as const;
/** The worker protocol is Gantry's own, between its processes: not part of the documented Buddy API. */
const HIDE = { hide: true } as const;

/** Aborted when the client goes away before the answer (a long-poll whose worker died). */
function clientGone(reply: FastifyReply): AbortSignal {
  const abort = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  return abort.signal;
}

/**
 * The worker protocol under /api/workers (see docs/scaling.md): a WORKER-scoped token of a server
 * admin, without workspace restrictions (a worker receives every workspace's secrets), and after
 * registering the session header on every call. 409 means "this is no longer yours": the worker
 * stops the execution (or registers again).
 */
export function workerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const hub = ctx.workers;
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: 8 * 1024 * 1024 },
    (_r, body, done) => done(null, body),
  );
  // git's request bodies are streamed to http-backend untouched.
  app.addContentTypeParser('application/x-git-upload-pack-request', (_r, _payload, done) =>
    done(null, undefined),
  );
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.scope !== 'WORKER') return;
    const p = principalOf(request);
    if (!p.user.admin || p.workspaceRestrictions !== null)
      throw new ApiError(
        403,
        'worker calls need a WORKER token of a server admin without workspace restrictions',
      );
  });
  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof LeaseLostError) return reply.status(409).send(errorBody(err.message));
    throw err;
  });

  const session = async (request: FastifyRequest): Promise<WorkerRow> => {
    const value = request.headers[SESSION_HEADER];
    if (typeof value !== 'string' || value === '')
      throw new ApiError(400, `the ${SESSION_HEADER} header is required (register first)`);
    return hub.workerOf(value);
  };

  app.get(
    '/',
    { config: WORKER, schema: { ...HIDE, summary: 'Remote workers and their leases' } },
    async () => {
      const rows = await listWorkers(ctx.db);
      return {
        workers: await Promise.all(
          rows.map(async (w) => ({
            name: w.name,
            state: w.state,
            tags: workerTags(w),
            cpu: w.cpu,
            concurrency: w.concurrency,
            version: w.version,
            registered_at: w.registered_at,
            heartbeat_at: w.heartbeat_at,
            lease_until: w.lease_until,
            executions: (await executionsOfWorker(ctx.db, w.name, w.session)).map((e) => e.id),
          })),
        ),
      };
    },
  );

  app.post(
    '/register',
    { config: WORKER, schema: { ...HIDE, body: RegisterBody, summary: 'A worker process starts' } },
    async (request: FastifyRequest<{ Body: Static<typeof RegisterBody> }>) => {
      const { session: s } = await hub.register(request.body, principalOf(request).token.id);
      return {
        session: s,
        lease_seconds: hub.leaseSeconds,
        heartbeat_seconds: hub.heartbeatSeconds,
        poll_seconds: hub.pollSeconds,
      };
    },
  );

  app.post('/unregister', { config: WORKER, schema: HIDE }, async (request) => {
    await hub.unregister(await session(request));
    return {};
  });

  app.post('/next', { config: WORKER, schema: HIDE }, async (request, reply) => {
    const worker = await session(request);
    const work = await hub.next(worker, clientGone(reply));
    return work ? work : reply.status(204).send();
  });

  app.post(
    '/heartbeat',
    { config: WORKER, schema: { ...HIDE, body: HeartbeatBody } },
    async (request: FastifyRequest<{ Body: Static<typeof HeartbeatBody> }>, reply) => {
      const worker = await session(request);
      return { abort: await hub.heartbeat(worker, request.body.running, clientGone(reply)) };
    },
  );

  app.post(
    '/executions/:execution_id/steps/:step_id/started',
    { config: WORKER, schema: { ...HIDE, params: StepParams, body: StartedBody } },
    async (request: FastifyRequest<Sp & { Body: Static<typeof StartedBody> }>) => {
      const p = request.params;
      await hub.stepStarted(
        await session(request),
        p.execution_id,
        p.step_id,
        variables(request.body.passed),
      );
      return {};
    },
  );

  app.post(
    '/executions/:execution_id/steps/:step_id/ended',
    { config: WORKER, schema: { ...HIDE, params: StepParams, body: EndedBody } },
    async (request: FastifyRequest<Sp & { Body: Static<typeof EndedBody> }>) => {
      const { params: p, body: b } = request;
      const short = await hub.stepEnded(
        await session(request),
        p.execution_id,
        p.step_id,
        { status: b.status, error: b.error, outputs: variables(b.outputs), logLines: b.log_lines },
        b.log_bytes,
      );
      // Not ended yet: the worker sends the log from here, then reports the end again.
      return short ? { log_size: short.logSize } : {};
    },
  );

  app.post(
    '/executions/:execution_id/steps/:step_id/waiting',
    { config: WORKER, schema: { ...HIDE, params: StepParams, body: WaitingBody } },
    async (request: FastifyRequest<Sp & { Body: Static<typeof WaitingBody> }>) => {
      const p = request.params;
      const waiting = await hub.awaitApproval(
        await session(request),
        p.execution_id,
        p.step_id,
        request.body.question,
      );
      return { waiting };
    },
  );

  app.post(
    '/executions/:execution_id/skipped',
    { config: WORKER, schema: { ...HIDE, params: ExecutionParams, body: SkippedBody } },
    async (request: FastifyRequest<Ep & { Body: Static<typeof SkippedBody> }>) => {
      const b = request.body;
      await hub.stepsSkipped(await session(request), request.params.execution_id, b.step_ids, b.status);
      return {};
    },
  );

  app.post(
    '/executions/:execution_id/steps/:step_id/container',
    { config: WORKER, schema: { ...HIDE, params: StepParams, body: ContainerBody } },
    async (request: FastifyRequest<Sp & { Body: Static<typeof ContainerBody> }>) => {
      const p = request.params;
      await hub.containerChanged(
        await session(request),
        p.execution_id,
        p.step_id,
        request.body.container_id,
      );
      return {};
    },
  );

  app.post(
    '/executions/:execution_id/steps/:step_id/log',
    { config: WORKER, schema: { ...HIDE, params: StepParams, querystring: LogQuery } },
    async (request: FastifyRequest<Sp & { Querystring: Static<typeof LogQuery> }>) => {
      const p = request.params;
      if (!Buffer.isBuffer(request.body))
        throw new ApiError(415, 'a log chunk is sent as application/octet-stream');
      if (request.body.length === 0 || request.body[request.body.length - 1] !== 10)
        throw new ApiError(400, 'a log chunk is whole lines: it ends with a newline');
      const size = await hub.appendLog(
        await session(request),
        p.execution_id,
        p.step_id,
        request.query.offset,
        request.body,
      );
      return { size };
    },
  );

  app.post(
    '/executions/:execution_id/registry_auth',
    { config: WORKER, schema: { ...HIDE, params: ExecutionParams, body: RegistryBody } },
    async (request: FastifyRequest<Ep & { Body: Static<typeof RegistryBody> }>) => ({
      auth: await hub.registryAuth(
        await session(request),
        request.params.execution_id,
        request.body.identifier,
      ),
    }),
  );

  app.post(
    '/executions/:execution_id/settable',
    { config: WORKER, schema: { ...HIDE, params: ExecutionParams, body: SettableBody } },
    async (request: FastifyRequest<Ep & { Body: Static<typeof SettableBody> }>) => {
      const b = request.body;
      await hub.updateSettable(
        await session(request),
        request.params.execution_id,
        b.stored_id,
        b.value,
        b.encrypted,
      );
      return {};
    },
  );

  app.get(
    '/executions/:execution_id/previous_status',
    { config: WORKER, schema: { ...HIDE, params: ExecutionParams } },
    async (request: FastifyRequest<Ep>) => ({
      status: await hub.previousStatus(await session(request), request.params.execution_id),
    }),
  );

  app.post(
    '/executions/:execution_id/done',
    { config: WORKER, schema: { ...HIDE, params: ExecutionParams, body: DoneBody } },
    async (request: FastifyRequest<Ep & { Body: Static<typeof DoneBody> }>) => {
      const b = request.body;
      await hub.done(await session(request), request.params.execution_id, b.status, b.error);
      return {};
    },
  );

  // The archive of the package version the execution is pinned to, as stored in the database, only
  // for an execution this worker session holds: a worker reads no other package.
  const packages = new PackageStore(ctx.db, ctx.config.dataDir);
  app.get(
    '/executions/:execution_id/package',
    { config: WORKER, schema: { ...HIDE, params: ExecutionParams } },
    async (request: FastifyRequest<Ep>, reply) => {
      const e = await hub.heldExecution(await session(request), request.params.execution_id);
      const pin = pinnedPackageOf(e);
      if (!pin) throw new ApiError(404, `execution ${e.id} is not pinned to a package version`);
      const v = await getPackageVersion(ctx.db, pin.package.id, pin.version.id);
      if (!v)
        throw new ApiError(
          404,
          `version "${pin.version.version}" of package "${pin.package.identifier}" no longer exists`,
        );
      const content = await packages.contentOf(v);
      if (!content) throw new ApiError(404, archiveMissing(pin.package, v));
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', content.size)
        .header(PACKAGE_SHA256_HEADER, content.sha256)
        .header(PACKAGE_FORMAT_HEADER, v.archive_format)
        .send(Readable.from(packages.chunks(content)));
    },
  );

  // The execution's repository, fetch only, from the server's mirror (any project: hosted or not).
  const git = async (
    request: FastifyRequest<{ Params: { execution_id: string; '*': string } }>,
    reply: FastifyReply,
  ) => {
    const id = Number(request.params.execution_id);
    if (!Number.isSafeInteger(id) || id < 1) throw new ApiError(400, 'invalid execution id');
    const [, query = ''] = request.url.split('?', 2);
    // The worker's remote is .../git/repo.git; what follows is git's own path.
    const rest = /^repo\.git(\/.*)$/.exec(request.params['*']);
    if (!rest) throw new ApiError(404, 'the repository path is .../git/repo.git');
    const pathInfo = rest[1]!;
    if (isPushRequest(pathInfo, query)) throw new ApiError(403, 'workers only fetch');
    const mirror = await hub.sourceOf(await session(request), id);
    reply.hijack();
    await handleGitHttp({
      projectRoot: path.dirname(mirror),
      pathInfo: `/${path.basename(mirror)}${pathInfo}`,
      method: request.method,
      query,
      contentType: request.headers['content-type'],
      contentEncoding: request.headers['content-encoding'] as string | undefined,
      remoteUser: 'worker',
      remoteAddr: request.ip,
      body: request.raw,
      res: reply.raw,
      // The revision may be on no branch any more (a force-push); the execution names it exactly.
      config: { 'uploadpack.allowAnySHA1InWant': 'true' },
      onStderr: (text) => request.log.warn({ git: text }, 'git http-backend'),
    });
  };
  app.get(
    '/executions/:execution_id/git/*',
    { config: WORKER, schema: HIDE, bodyLimit: 1024 * 1024 * 1024 },
    git,
  );
  app.post(
    '/executions/:execution_id/git/*',
    { config: WORKER, schema: HIDE, bodyLimit: 1024 * 1024 * 1024 },
    git,
  );
}
