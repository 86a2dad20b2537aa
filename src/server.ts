import { createHash } from 'node:crypto';
import { PackageStore } from './packages/package-store.ts';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { buildApp } from './api/app.ts';
import { WriteWatch } from './store/write-watch.ts';
import { Urls } from './api/present/urls.ts';
import { createMetricsServer } from './api/metrics-listener.ts';
import { parseListen, type Config } from './config/config.ts';
import { SCOPES } from './domain/scopes.ts';
import { ExecutionEngine } from './engine/engine.ts';
import { LogStore } from './engine/log-store.ts';
import { WorkerHub } from './engine/worker-hub.ts';
import { ProjectRepositories } from './engine/project-repositories.ts';
import { drainTimeoutReason, STOP_REASONS } from './engine/stop-reason.ts';
import { ExecutionEventTail } from './metrics/event-tail.ts';
import { GantryMetrics } from './metrics/metrics.ts';
import { prepareDataDir } from './ops/data-dir.ts';
import { createLogger } from './ops/logger.ts';
import { mountNosuid } from './ops/nosuid-mount.ts';
import { checkDocker, checkGit, redactDatabaseUrl, withTimeout } from './ops/preflight.ts';
import { checkReadiness, type Readiness } from './ops/readiness.ts';
import { StartupError } from './ops/startup-error.ts';
import { repositoryUrlPolicy } from './repo/url-policy.ts';
import { DockerRuntime } from './runtime/docker/docker-runtime.ts';
import type { ContainerRuntime } from './runtime/container-runtime.ts';
import { loadSecretKey, SecretBox, SecretKeyError } from './secrets/cipher.ts';
import { ChangeFeed, EXECUTION_CHANNEL } from './store/change-feed.ts';
import { isPostgres } from './store/dialect.ts';
import { LOG_CHANNEL } from './engine/log-chunks.ts';
import { isPostgresUrl, openDatabase, type Db } from './store/database.ts';
import { queueStats } from './store/execution-stats.ts';
import { countUsers, createToken, createUser } from './store/identity.ts';
import { Triggers } from './triggers/triggers.ts';
import { WebhookDispatcher, type DispatcherOptions } from './triggers/webhook-dispatcher.ts';
import { webhookOutboxHook } from './triggers/webhook-outbox.ts';
import { now } from './store/time.ts';

export interface Gantry {
  app: FastifyInstance;
  engine: ExecutionEngine;
  triggers: Triggers;
  db: Db;
  config: Config;
  metrics: GantryMetrics | null;
  /** Set on the first start of an empty data directory: where the admin token was written. */
  adminTokenFile: string | null;
  /**
   * Graceful stop: /readyz turns 503, no queued execution starts (they stay queued for the next
   * start), running ones get `drainTimeoutSeconds` to finish, the rest end TERMINATED saying why, then
   * everything closes. `hurry()` (a second SIGTERM) ends the wait at once.
   */
  drainAndClose(): Promise<void>;
  hurry(): void;
  /** Immediate stop: running executions end TERMINATED ("the server shut down"). */
  close(): Promise<void>;
}

async function openSecrets(db: Db, config: Config): Promise<SecretBox> {
  const file = config.secretKeyFile || path.join(config.dataDir, 'secret.key');
  const stored = await db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', 'secret_key_fingerprint')
    .executeTakeFirst();
  const key = loadSecretKey(file, stored === undefined);
  const fingerprint = createHash('sha256').update(key).digest('hex');
  if (stored === undefined) {
    await db.insertInto('meta').values({ key: 'secret_key_fingerprint', value: fingerprint }).execute();
  } else if (stored.value !== fingerprint) {
    throw new SecretKeyError(`secret key ${file} is not the key this database's secrets were sealed with`);
  }
  return new SecretBox(key);
}

/** How often a server sweeps package archives without a version and its copies of deleted versions. */
const PACKAGE_MAINTENANCE_MS = 6 * 3600_000;

/** On an empty data directory: an admin user and an all-scopes token, written to admin.token (0600). */
async function bootstrapAdmin(db: Db, dataDir: string): Promise<string | null> {
  if ((await countUsers(db)) > 0) return null;
  const user = await createUser(db, { name: 'admin', email: 'admin@localhost', admin: true });
  const { token } = await createToken(db, {
    userId: user.id,
    name: 'admin',
    scopes: [...SCOPES],
    ipRestrictions: [],
    workspaceRestrictions: [],
    expiresAt: null,
  });
  const file = path.join(dataDir, 'admin.token');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Opens the database, turning every failure into one line that names the URL without its password. */
async function openDatabaseOrExplain(config: Config): Promise<Db> {
  const url = config.databaseUrl;
  const shown = url === '' ? path.join(config.dataDir, 'gantry.db') : redactDatabaseUrl(url);
  if (url.startsWith('sqlite:') && !url.includes(':memory:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\//, '');
    prepareDataDir(path.dirname(path.resolve(file)), 'database directory');
  }
  try {
    return await openDatabase(url, config.dataDir);
  } catch (err) {
    const detail = (url === '' ? (err as Error).message : (err as Error).message.split(url).join(shown))
      .split('\n')[0]!
      .replace(/:\s*$/, '');
    throw new StartupError(`cannot open the database ${shown}: ${detail}`);
  }
}

function listenError(err: unknown, what: string, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `${what} ${host}:${port} is already in use (another Gantry or program listens there); stop it or choose another port`,
    );
  if (code === 'EACCES')
    return new StartupError(
      `${what} ${host}:${port} needs privileges to listen on; choose a port above 1023`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new StartupError(`${what} ${host}:${port} is not an address of this machine`);
  return err as Error;
}

/** Binds and releases `host:port` to learn whether listening there can work; throws a StartupError if not. */
async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err) => reject(listenError(err, what, host, port)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * The composition root: config → checks → store → secrets → runtime → engine → HTTP. Nothing else
 * reads the environment or builds these objects. `runtime` may be swapped (tests of scheduling
 * logic). Every bad setup the machine can show (data directory, git, Docker engine, database, secret
 * key) is a StartupError before anything starts.
 */
export async function createGantry(
  config: Config,
  options: {
    logger?: Logger | false;
    runtime?: ContainerRuntime;
    /** Outgoing webhook retry timing (tests shorten the backoff). */
    webhookDispatch?: Partial<DispatcherOptions>;
    /**
     * Listen on host:port (and metricsListen) before the engine starts: a port in use must fail the
     * start before recovery touches executions another process may be running.
     */
    listen?: boolean;
    /** Fail any response its route's schema would change (the tests set it; see buildApp). */
    checkResponseSchemas?: boolean;
  } = {},
): Promise<Gantry> {
  prepareDataDir(config.dataDir);
  const logger =
    options.logger === undefined
      ? createLogger({
          level: config.logLevel,
          format: config.logFormat,
          stdoutIsTty: process.stdout.isTTY === true,
        })
      : options.logger;
  const engineLogger = logger === false ? pino({ level: 'silent' }) : logger;
  await checkGit();
  let runtime = options.runtime;
  if (!runtime) {
    try {
      runtime = new DockerRuntime({
        dockerHost: config.dockerHost,
        limits: {
          memoryMb: config.containerMemoryMb,
          cpus: config.containerCpus,
          pidsLimit: config.containerPidsLimit,
        },
        forbidRoot: config.forbidRoot,
      });
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
  }
  await checkDocker(runtime, config.dockerHost);
  // Every write goes through this instance, so the API's token cache sees identity changes at once.
  const identityWrites = new WriteWatch(new Set(['tokens', 'users', 'workspaces']));
  const db = (await openDatabaseOrExplain(config)).withPlugin(identityWrites);
  let unmountPipelines: (() => void) | null = null;
  try {
    if (config.nosuidPipelines)
      unmountPipelines = mountNosuid(path.join(config.dataDir, 'pipelines'), engineLogger);
    const secrets = await openSecrets(db, config);
    const adminTokenFile = await bootstrapAdmin(db, config.dataDir);
    const repositories = new ProjectRepositories(config.dataDir, secrets, repositoryUrlPolicy(config));
    const logs = new LogStore(path.join(config.dataDir, 'logs'), isPostgres(db) ? db : undefined);
    /** Executions whose last status change wrote webhook deliveries not yet looked at. */
    const outboxWritten = new Set<number>();
    const engine = new ExecutionEngine({
      db,
      runtime,
      repositories,
      logs,
      secrets,
      dataDir: config.dataDir,
      publicUrl: config.publicUrl,
      networkMode: config.networkMode,
      cancelGraceSeconds: config.cancelGraceSeconds,
      maxConcurrentExecutions: config.maxConcurrentExecutions,
      logger: engineLogger,
      transitionHooks: [webhookOutboxHook(new Urls(config.publicUrl), (id) => outboxWritten.add(id))],
      localRunner: config.localWorker,
    });
    const workers = new WorkerHub({
      db,
      engine,
      logs,
      secrets,
      logger: engineLogger,
      leaseSeconds: config.workerLeaseSeconds,
      heartbeatSeconds: config.workerHeartbeatSeconds,
      // On PostgreSQL the change feed wakes waiting workers: looking is only a safety net there.
      queuePollSeconds: isPostgresUrl(config.databaseUrl) ? config.queuePollSeconds : undefined,
    });
    const metrics = config.metricsListen === 'off' ? null : new GantryMetrics();
    const webhooks = new WebhookDispatcher(db, secrets, engineLogger, options.webhookDispatch, (outcome) =>
      metrics?.webhookDelivery(outcome),
    );
    // The dispatcher looks once a status change that wrote outbox rows has committed (its execution's
    // next change event), not after every change: each look is two queries, and accepting a run (or
    // any change without a webhook to tell) needs none. Its own timer still looks every 5 s.
    engine.changes.on('execution', (id: number) => {
      if (outboxWritten.delete(id)) webhooks.poke();
    });
    const triggers = new Triggers({
      db,
      repositories,
      secrets,
      engine,
      webhooks,
      logger: engineLogger,
      repositoryPollSeconds: config.repositoryPollSeconds,
    });
    if (metrics) await connectMetrics(metrics, { db, runtime, logs, instanceLabel: engine.instanceLabel });
    let draining = false;
    const readiness = (): Promise<Readiness> =>
      checkReadiness({
        db,
        runtime,
        dataDir: config.dataDir,
        minFreeDiskMb: config.minFreeDiskMb,
        draining: () => draining,
      });
    const urls = new Urls(config.publicUrl);
    const app = await buildApp(
      {
        config,
        db,
        urls,
        secrets,
        repositories,
        engine,
        logs,
        triggers,
        workers,
        identityWrites,
        ops: { readiness, metrics, metricsOnApiPort: config.metricsListen === '' },
      },
      logger,
      { checkResponseSchemas: options.checkResponseSchemas === true },
    );
    const metricsListen = parseListen(config.metricsListen);
    const metricsServer = metrics && metricsListen ? createMetricsServer(metrics) : null;
    if (options.listen) {
      // Before recovery touches executions another process on this data directory may be running.
      await assertPortFree(config.host, config.port, 'the API address');
      if (metricsListen) await assertPortFree(metricsListen.host, metricsListen.port, 'the metrics address');
    }
    // Several servers on one PostgreSQL: another's status changes reach this one's streams and queue.
    const feed = isPostgresUrl(config.databaseUrl)
      ? await ChangeFeed.open(
          config.databaseUrl,
          {
            [EXECUTION_CHANNEL]: (id) => {
              engine.changes.emit('execution', Number(id));
              engine.poke();
            },
            // Another server's log grew: this server's live log streams read on (from the database).
            [LOG_CHANNEL]: (id) => logs.events.emit(id),
          },
          () => {
            engine.poke();
            workers.wakeAll();
          },
          engineLogger,
          config.queuePollSeconds * 1000,
        )
      : null;
    // The lease before anything is claimed; recovery before the API answers, so no client sees a dead
    // process's executions as running.
    await workers.holdLocalLease();
    await engine.start();
    // Archives of package versions uploaded before they were stored in the database go there now
    // (in the background: a version needed meanwhile is imported when it is asked for); then every
    // few hours, archives of uploads that died and copies of versions deleted through another server go.
    const packages = new PackageStore(db, config.dataDir);
    const maintainPackages = (): void =>
      void packages
        .maintain(engineLogger)
        .catch((err: unknown) => engineLogger.warn({ err }, 'package maintenance failed'));
    maintainPackages();
    const packageTimer = setInterval(maintainPackages, PACKAGE_MAINTENANCE_MS).unref();
    workers.start();
    triggers.start();
    webhooks.start();
    if (options.listen) {
      try {
        await app.listen({ host: config.host, port: config.port });
        if (metricsServer && metricsListen) {
          await new Promise<void>((resolve, reject) => {
            metricsServer.once('error', reject);
            metricsServer.listen(metricsListen.port, metricsListen.host, () => resolve());
          });
        }
      } catch (err) {
        clearInterval(packageTimer);
        workers.stop();
        await app.close();
        triggers.stop();
        await webhooks.stop();
        await engine.stop();
        await feed?.close();
        throw listenError(err, 'an address', config.host, config.port);
      }
    }
    const hurry = new AbortController();
    let closing: Promise<void> | null = null;
    const closeAll = (reason?: string): Promise<void> =>
      (closing ??= (async () => {
        if (metricsServer?.listening) await new Promise((resolve) => metricsServer.close(resolve));
        clearInterval(packageTimer);
        // Workers waiting for work or heartbeat answers are answered now, not after their poll time.
        workers.stop();
        await app.close();
        triggers.stop();
        await engine.stop(reason);
        await workers.releaseLocalLease();
        await webhooks.stop();
        await feed?.close();
        await db.destroy();
        unmountPipelines?.();
      })());
    return {
      app,
      engine,
      triggers,
      db,
      config,
      metrics,
      adminTokenFile,
      async drainAndClose() {
        draining = true;
        const seconds = config.drainTimeoutSeconds;
        engineLogger.info(
          { running: engine.runningCount, drainTimeoutSeconds: seconds },
          'stopping: no new executions start; waiting for running ones to finish',
        );
        const drained = await engine.drain(seconds * 1000, hurry.signal);
        if (!drained)
          engineLogger.warn(
            { running: engine.runningCount },
            hurry.signal.aborted
              ? 'stopping at once: terminating running executions'
              : 'drain timeout passed: terminating running executions',
          );
        await closeAll(hurry.signal.aborted ? STOP_REASONS.stoppedAgain : drainTimeoutReason(seconds));
      },
      hurry() {
        hurry.abort();
      },
      close: () => closeAll(),
    };
  } catch (err) {
    await db.destroy();
    unmountPipelines?.();
    throw err;
  }
}

/** Connects the scrape-time sources of the metrics to the store, the Docker engine and the logs. */
async function connectMetrics(
  metrics: GantryMetrics,
  deps: { db: Db; runtime: ContainerRuntime; logs: LogStore; instanceLabel: string },
): Promise<void> {
  const tail = new ExecutionEventTail(deps.db, metrics);
  await tail.start();
  metrics.setSources({
    catchUp: () => tail.catchUp(),
    queue: async () => {
      const nowIso = now();
      const q = await queueStats(deps.db, nowIso);
      const oldestWaitSeconds = q.oldestEnqueueDate
        ? Math.max(0, (Date.parse(nowIso) - Date.parse(q.oldestEnqueueDate)) / 1000)
        : 0;
      return { queued: q.queued, delayed: q.delayed, running: q.running, oldestWaitSeconds };
    },
    runningContainers: () =>
      withTimeout(
        deps.runtime.listContainers({ 'gantry.instance': deps.instanceLabel }),
        3000,
        'docker',
      ).then(
        (list) => list.filter((c) => c.state === 'running').length,
        () => null,
      ),
    logBytesWritten: () => deps.logs.bytesWritten,
  });
}

export function adminTokenPath(config: Config): string | null {
  const file = path.join(config.dataDir, 'admin.token');
  return existsSync(file) ? file : null;
}
