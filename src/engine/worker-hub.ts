import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { InlineVariable } from '../domain/pipeline.ts';
import { describeRoute, localCpu, runnerMatches, type RunnerTraits } from '../domain/worker-routing.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import {
  getExecution,
  listActionExecutions,
  listRunnable,
  nextDelayedAt,
  runningPipelineIds,
} from '../store/executions.ts';
import { getPipelineById, type Pipeline } from '../store/pipelines.ts';
import type { ExecutionRow, WorkerRow } from '../store/schema.ts';
import { now } from '../store/time.ts';
import {
  expiredServerLeases,
  holdServerLease,
  localRunsOf,
  releaseServerLease,
  renewServerLease,
  takeServerLease,
} from '../store/server-leases.ts';
import { getVariable } from '../store/variables.ts';
import {
  executionsOfWorker,
  filesystemHolders,
  listWorkers,
  markWorkerStopped,
  registerWorker,
  renewLease,
  setWaitReason,
  takeExpiredLease,
  workerTags,
  type WorkerInfo,
} from '../store/workers.ts';
import type { ExecutionEngine } from './engine.ts';
import type { LogStore, LogWriter } from './log-store.ts';
import type { StepResult } from './runner-peer.ts';
import { STOP_REASONS } from './stop-reason.ts';
import {
  HEARTBEAT_SECONDS,
  LEASE_SECONDS,
  POLL_SECONDS,
  resealed,
  resealedVariables,
  toWire,
  type WireWorkload,
} from './worker-wire.ts';

/** A worker request the server refuses because the worker no longer holds what it reports on. */
export class LeaseLostError extends Error {}

export interface WorkerHubDeps {
  db: Db;
  engine: ExecutionEngine;
  logs: LogStore;
  secrets: SecretBox;
  logger: Logger;
  /** Tests shorten these; production uses LEASE_SECONDS / HEARTBEAT_SECONDS / POLL_SECONDS. */
  leaseSeconds?: number;
  heartbeatSeconds?: number;
  pollSeconds?: number;
  /**
   * How often a waiting claim or heartbeat looks at the store without being woken. Any change through
   * this server wakes it; so does any change through another server when the servers share a
   * PostgreSQL (the change feed's NOTIFY), where this is only a safety net (config queuePollSeconds).
   * Without it (servers sharing a SQLite file see each other's runs only by looking): 2 s.
   */
  queuePollSeconds?: number;
}

/** How a claim that waited found its execution (logged with the hand-out). */
type Found = 'at once' | 'woken' | 'look';

/** Why a worker must stop an execution, as the heartbeat answers it. */
export interface AbortOrder {
  execution_id: number;
  reason: string;
}

const SWEEP_MS = 2000;
/** How often a waiting claim looks at the queue unaided when nothing tells it of other servers' runs. */
const LOOK_MS = 2000;
/** A claimed execution the worker does not list in its heartbeats this long after the claim never reached it. */
const LOST_IN_TRANSIT_MS = 30_000;

function traitsOf(w: WorkerRow): RunnerTraits {
  return { name: w.name, tags: workerTags(w), cpu: w.cpu === 'ARM' ? 'ARM' : 'X64' };
}

/**
 * The server side of remote workers: registration, leases and heartbeats, handing out executions
 * (long-poll) by the pipelines' routing, and the runner port's reports arriving over HTTP — each
 * checked against the execution's worker session, then written through the engine's LocalRunnerPeer,
 * so a remote run moves through exactly the same transitions as a local one. Any number of servers
 * on one database may serve the same workers: the state is in the store, not in this object.
 */
export class WorkerHub {
  private readonly startedAt = Date.now();
  /** Workers waiting for work at this server now, by name (how many requests). */
  private readonly polling = new Map<string, number>();
  /** Open log appenders of remote steps, by action execution id. */
  private readonly logWriters = new Map<string, Promise<LogWriter>>();
  private readonly waiters = new Set<(woken?: boolean) => void>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** When this server last renewed the lease of its local runner (0: it holds none). */
  private leaseRenewedAt = 0;
  readonly leaseSeconds: number;
  readonly heartbeatSeconds: number;
  readonly pollSeconds: number;
  private readonly lookMs: number;

  constructor(private readonly deps: WorkerHubDeps) {
    this.leaseSeconds = deps.leaseSeconds ?? LEASE_SECONDS;
    this.heartbeatSeconds = deps.heartbeatSeconds ?? HEARTBEAT_SECONDS;
    this.pollSeconds = deps.pollSeconds ?? POLL_SECONDS;
    this.lookMs = deps.queuePollSeconds !== undefined ? deps.queuePollSeconds * 1000 : LOOK_MS;
    deps.engine.changes.on('execution', () => this.wakeAll());
  }

  start(): void {
    this.stopped = false;
    const loop = (): void => {
      this.timer = setTimeout(() => {
        this.sweep()
          .catch((err: unknown) => this.deps.logger.error({ err }, 'worker lease sweep failed'))
          .finally(() => {
            if (!this.stopped) loop();
          });
      }, SWEEP_MS);
      this.timer.unref();
    };
    loop();
  }

  /** Answers every waiting long-poll at once (a server going down must not hold its workers for 25 s). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wakeAll();
  }

  /** Every waiting claim and heartbeat looks again (the change feed's safety net calls this too). */
  wakeAll(): void {
    for (const wake of [...this.waiters]) wake(true);
  }

  /**
   * Resolves after `ms` (false), on any execution change here (true), or when the hub stops or
   * `signal` aborts.
   */
  private nap(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (woken = false): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', aborted);
        resolve(woken);
      };
      const aborted = (): void => done();
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', aborted, { once: true });
      if (this.stopped || signal.aborted) done();
    });
  }

  // ---- the local runner's lease -------------------------------------------------------------------

  /**
   * Takes this server's own lease (servers sharing a database end the local runs of a server whose
   * lease expires): before the local runner claims anything, so that what it claims is never ended
   * by another server in the moment before its first heartbeat.
   */
  async holdLocalLease(): Promise<void> {
    const { db, engine } = this.deps;
    if (!engine.runsLocally) return;
    await holdServerLease(db, engine.localSession, this.leaseSeconds);
    this.leaseRenewedAt = Date.now();
  }

  /** A server that stops cleanly gives up its lease (its runs were ended first). */
  async releaseLocalLease(): Promise<void> {
    if (this.leaseRenewedAt === 0) return;
    this.leaseRenewedAt = 0;
    await releaseServerLease(this.deps.db, this.deps.engine.localSession);
  }

  /**
   * The local runner's heartbeat. A lease another server took (this one was not heard from for the
   * lease time: it was stopped, or starved) means its runs were ended there: what still runs here is
   * stopped, and the lease is taken again for what comes next.
   */
  private async renewLocalLease(): Promise<void> {
    const { db, engine, logger } = this.deps;
    if (this.leaseRenewedAt === 0 || Date.now() - this.leaseRenewedAt < this.heartbeatSeconds * 1000) return;
    if (!(await renewServerLease(db, engine.localSession, this.leaseSeconds))) {
      logger.error('this server lost the lease of its local runner: stopping what it runs');
      engine.abortRuns(`this server was not heard from for ${this.leaseSeconds} s and lost its lease`);
      await holdServerLease(db, engine.localSession, this.leaseSeconds);
    }
    this.leaseRenewedAt = Date.now();
  }

  /**
   * Other servers whose lease expired (they died and did not come back): their local runs end FAILED
   * (TERMINATED when a cancel was under way), saying so; nothing is run again. A server that comes
   * back later finds them ended, and removes the containers it left.
   */
  private async endDeadServersRuns(): Promise<void> {
    const { db, engine, logger } = this.deps;
    for (const lease of await expiredServerLeases(db, engine.localSession)) {
      if (!(await takeServerLease(db, lease.session))) continue;
      const seconds = Math.round((Date.parse(lease.lease_until) - Date.parse(lease.heartbeat_at)) / 1000);
      logger.warn({ server: lease.session, lastHeartbeat: lease.heartbeat_at }, 'server lease expired');
      for (const e of await localRunsOf(db, lease.session))
        await this.endLost(
          e,
          `the server that ran it stopped sending heartbeats (last at ${lease.heartbeat_at}); its ${seconds} s lease expired`,
        );
      // On a Docker engine this server shares with it, its containers stop now, not when it comes back.
      const label = lease.session.slice('local:'.length);
      await engine
        .removeContainersOf(label, `server ${lease.session}, whose lease expired`)
        .catch((err: unknown) =>
          logger.warn({ err, server: lease.session }, 'removing its containers failed'),
        );
    }
  }

  // ---- registration and leases -------------------------------------------------------------------

  /**
   * A worker process starts: a new session with a fresh lease. Executions an earlier process of the
   * same name held cannot be in this one's hands: they end FAILED at once, saying so.
   */
  async register(info: WorkerInfo, tokenId: string): Promise<{ session: string }> {
    const session = randomBytes(16).toString('hex');
    await registerWorker(this.deps.db, info, session, tokenId, this.leaseSeconds);
    for (const e of await executionsOfWorker(this.deps.db, info.name))
      if (e.worker_session !== session)
        await this.endLost(e, `worker "${info.name}" restarted while the execution ran`);
    this.deps.logger.info({ worker: info.name, tags: info.tags }, 'worker registered');
    return { session };
  }

  /** The worker of a session that still holds its lease, or LeaseLostError. */
  async workerOf(session: string): Promise<WorkerRow> {
    const row = await this.deps.db
      .selectFrom('workers')
      .selectAll()
      .where('session', '=', session)
      .executeTakeFirst();
    if (!row || row.state !== 'ONLINE')
      throw new LeaseLostError(
        row?.state === 'LOST'
          ? `worker "${row.name}" lost its lease (no heartbeat for ${this.leaseSeconds} s); register again`
          : 'unknown or ended worker session; register again',
      );
    return row;
  }

  /**
   * A heartbeat: renews the lease, then waits (up to the heartbeat interval) until one of the running
   * executions must stop, and says which and why. `running` is what the worker runs now.
   */
  async heartbeat(worker: WorkerRow, running: readonly number[], signal: AbortSignal): Promise<AbortOrder[]> {
    if (!(await renewLease(this.deps.db, worker.name, worker.session, this.leaseSeconds)))
      throw new LeaseLostError(`worker "${worker.name}" lost its lease; register again`);
    await this.failLostInTransit(worker, running);
    const end = Date.now() + this.heartbeatSeconds * 1000;
    for (;;) {
      const orders = await this.abortOrders(worker, running);
      if (orders.length > 0 || Date.now() >= end || signal.aborted || this.stopped) return orders;
      await this.nap(Math.min(this.lookMs, end - Date.now()), signal);
    }
  }

  /** Executions among `running` the worker must stop: cancelled, or no longer its own. */
  private async abortOrders(worker: WorkerRow, running: readonly number[]): Promise<AbortOrder[]> {
    const orders: AbortOrder[] = [];
    if (running.length === 0) return orders;
    const rows = await this.deps.db.selectFrom('executions').selectAll().where('id', 'in', running).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of running) {
      const e = byId.get(id);
      if (e && e.worker_session === worker.session && e.status === 'INPROGRESS') continue;
      if (e && e.worker_session === worker.session && e.status === 'TERMINATING')
        orders.push({ execution_id: id, reason: STOP_REASONS.cancelled });
      else
        orders.push({
          execution_id: id,
          reason: e
            ? `the execution is no longer this worker's: it is ${e.status}${e.error_message ? ` (${e.error_message})` : ''}`
            : 'the execution was deleted',
        });
    }
    return orders;
  }

  /** An execution the worker never got (the claim's answer was lost with its connection) ends, saying so. */
  private async failLostInTransit(worker: WorkerRow, running: readonly number[]): Promise<void> {
    for (const e of await executionsOfWorker(this.deps.db, worker.name, worker.session)) {
      if (running.includes(e.id)) continue;
      if (e.claim_date && Date.now() - Date.parse(e.claim_date) > LOST_IN_TRANSIT_MS)
        await this.endLost(
          e,
          `worker "${worker.name}" never received the execution (the connection was lost)`,
        );
    }
  }

  /** A worker that stops cleanly gives up its lease. */
  async unregister(worker: WorkerRow): Promise<void> {
    await markWorkerStopped(this.deps.db, worker.name, worker.session);
    for (const e of await executionsOfWorker(this.deps.db, worker.name, worker.session))
      await this.endLost(e, `worker "${worker.name}" stopped while the execution ran`);
  }

  /**
   * Every few seconds: renews this server's own lease and takes the expired leases of other servers
   * (ending their local runs); takes the leases of workers not heard from for the lease time (after
   * this server has itself been up that long, so workers can come back after a server restart),
   * ending their executions; and says on every queued execution that no runner can take why it waits.
   */
  async sweep(): Promise<void> {
    const { db } = this.deps;
    await this.renewLocalLease();
    await this.endDeadServersRuns();
    const workers = await listWorkers(db);
    const nowIso = now();
    if (Date.now() - this.startedAt >= this.leaseSeconds * 1000) {
      for (const w of workers) {
        if (w.state !== 'ONLINE' || w.lease_until >= nowIso) continue;
        if (!(await takeExpiredLease(db, w.name, w.session))) continue;
        this.deps.logger.warn({ worker: w.name, lastHeartbeat: w.heartbeat_at }, 'worker lease expired');
        for (const e of await executionsOfWorker(db, w.name))
          await this.endLost(
            e,
            `worker "${w.name}" stopped sending heartbeats (last at ${w.heartbeat_at}); its ${this.leaseSeconds} s lease expired`,
          );
      }
    }
    const live = workers.filter((w) => w.state === 'ONLINE' && w.lease_until >= nowIso).map(traitsOf);
    const settings = new Map<number, Pipeline | undefined>();
    for (const e of await listRunnable(db, 200)) {
      if (!settings.has(e.pipeline_id)) settings.set(e.pipeline_id, await getPipelineById(db, e.pipeline_id));
      const s = settings.get(e.pipeline_id)?.settings;
      if (!s) continue;
      const local = this.deps.engine.runsLocally && runnerMatches(s, LOCAL);
      let reason: string | null = null;
      if (!local && !live.some((w) => runnerMatches(s, w)))
        reason = `waiting for ${describeRoute(s)}: none is connected${this.deps.engine.runsLocally ? '' : ' (this server runs nothing itself)'}`;
      if (await setWaitReason(db, e.id, reason)) this.deps.engine.changes.emit('execution', e.id);
    }
  }

  /**
   * Ends an execution whose worker is gone: FAILED (TERMINATED when a cancel was under way), the
   * action that ran FAILED with the same message, the ones that did not NOT_EXECUTED. Nothing is
   * re-run: a user retries if they want the actions to run again.
   */
  private async endLost(e: ExecutionRow, message: string): Promise<void> {
    const wasCancelled = e.status === 'TERMINATING';
    const cut = (await listActionExecutions(this.deps.db, [e.id])).filter((a) => a.status === 'INPROGRESS');
    for (const a of cut) await this.closeLog(a.id);
    const lineCounts = await Promise.all(
      cut.map(async (a) => ({ id: a.id, lines: await this.deps.logs.countLines(a.id) })),
    );
    const moved = await this.deps.engine.transition(e.id, {
      execution: {
        from: ['INPROGRESS', 'TERMINATING'],
        to: wasCancelled ? 'TERMINATED' : 'FAILED',
        fields: { finish_date: now(), error_message: message },
      },
      actions: [
        ...lineCounts.map(({ id, lines }) => ({
          ids: [id],
          from: ['INPROGRESS'] as const,
          to: wasCancelled ? ('TERMINATED' as const) : ('FAILED' as const),
          fields: {
            finish_date: now(),
            error_message: message,
            container_id: null,
            // A log this server cannot read (another server's, on SQLite) keeps the count it had.
            ...(lines > 0 ? { log_lines: lines } : {}),
          },
        })),
        { from: ['ENQUEUED', 'INITIAL'], to: 'NOT_EXECUTED' },
      ],
    });
    if (moved) this.deps.logger.warn({ execution: e.id, worker: e.worker }, message);
    this.deps.engine.changes.emit('execution', e.id);
  }

  // ---- handing out work --------------------------------------------------------------------------

  /** Waits (up to the poll time) for an execution this worker may run, claims it and returns it. */
  async next(worker: WorkerRow, signal: AbortSignal): Promise<WireWorkload | null> {
    const end = Date.now() + this.pollSeconds * 1000;
    this.polling.set(worker.name, (this.polling.get(worker.name) ?? 0) + 1);
    try {
      let found: Found = 'at once';
      for (;;) {
        const work = await this.tryClaim(worker, found);
        if (work || Date.now() >= end || signal.aborted || this.stopped) return work;
        // Woken by any change here, and by other servers' changes on PostgreSQL; a delayed run's
        // time coming is no change: the nap ends then.
        let ms = Math.min(this.lookMs, end - Date.now());
        if (ms > LOOK_MS) {
          const delayed = await nextDelayedAt(this.deps.db);
          if (delayed) ms = Math.max(0, Math.min(ms, Date.parse(delayed) - Date.now() + 5));
        }
        found = (await this.nap(ms, signal)) ? 'woken' : 'look';
      }
    } finally {
      const left = (this.polling.get(worker.name) ?? 1) - 1;
      if (left > 0) this.polling.set(worker.name, left);
      else this.polling.delete(worker.name);
    }
  }

  private async tryClaim(worker: WorkerRow, found: Found): Promise<WireWorkload | null> {
    const { db, engine } = this.deps;
    const traits = traitsOf(worker);
    const queued = await listRunnable(db, 200);
    if (queued.length === 0) return null;
    const busy = await runningPipelineIds(db);
    const holders = await filesystemHolders(db, [...new Set(queued.map((e) => e.pipeline_id))]);
    const settings = new Map<number, Pipeline | undefined>();
    for (const e of queued) {
      if (!settings.has(e.pipeline_id)) settings.set(e.pipeline_id, await getPipelineById(db, e.pipeline_id));
      const s = settings.get(e.pipeline_id)?.settings;
      if (!s || !runnerMatches(s, traits)) continue;
      if (!s.concurrent_pipeline_runs && busy.has(e.pipeline_id)) continue;
      // The worker holding the pipeline's filesystem (and caches) gets it when it is waiting for work too.
      const holder = holders.get(e.pipeline_id);
      if (holder !== undefined && holder !== '' && holder !== worker.name && this.polling.has(holder))
        continue;
      const work = await engine.peer.claimFor(e.id, { worker: worker.name, session: worker.session });
      if (!work) continue;
      this.deps.logger.info({ execution: e.id, worker: worker.name, found }, 'execution handed to a worker');
      return toWire(work);
    }
    return null;
  }

  // ---- the runner port's reports -----------------------------------------------------------------

  /** The execution, when it is running on this worker session; LeaseLostError otherwise. */
  async heldExecution(worker: WorkerRow, executionId: number): Promise<ExecutionRow> {
    const e = await getExecution(this.deps.db, executionId);
    if (
      !e ||
      e.worker_session !== worker.session ||
      (e.status !== 'INPROGRESS' && e.status !== 'TERMINATING')
    )
      throw new LeaseLostError(
        e
          ? `execution ${executionId} is not running on worker "${worker.name}" (it is ${e.status})`
          : `execution ${executionId} not found`,
      );
    return e;
  }

  private async heldStep(worker: WorkerRow, executionId: number, stepId: string): Promise<ExecutionRow> {
    const e = await this.heldExecution(worker, executionId);
    const steps = await listActionExecutions(this.deps.db, [executionId]);
    if (!steps.some((s) => s.id === stepId))
      throw new LeaseLostError(`action execution ${stepId} is not part of execution ${executionId}`);
    return e;
  }

  private seal = (plain: string): string => this.deps.secrets.seal(plain);

  async stepStarted(
    worker: WorkerRow,
    executionId: number,
    stepId: string,
    passed: InlineVariable[],
  ): Promise<void> {
    await this.heldStep(worker, executionId, stepId);
    await this.closeLog(stepId);
    // A new attempt's log starts empty, as a local runner's does.
    await this.deps.logs.remove([stepId]);
    await this.deps.engine.peer.stepStarted(executionId, stepId, resealedVariables(passed, this.seal));
  }

  /**
   * A step ended on the worker, whose log holds `logBytes` bytes. A server that holds less of it (it
   * is not the one that received the log, or it died and restarted before the last chunk reached its
   * file) does not end the step: it answers how much it has, the worker sends the rest and reports
   * again, so that no step ends with lines missing.
   */
  async stepEnded(
    worker: WorkerRow,
    executionId: number,
    stepId: string,
    result: StepResult,
    logBytes?: number,
  ): Promise<{ logSize: number } | null> {
    await this.heldStep(worker, executionId, stepId);
    if (logBytes !== undefined) {
      const logSize = (await this.logWriter(stepId)).size;
      if (logSize < logBytes) return { logSize };
    }
    await this.closeLog(stepId);
    await this.deps.engine.peer.stepEnded(executionId, stepId, {
      ...result,
      outputs: resealedVariables(result.outputs, this.seal),
    });
    return null;
  }

  async stepsSkipped(
    worker: WorkerRow,
    executionId: number,
    stepIds: string[],
    status: 'SKIPPED' | 'NOT_EXECUTED',
  ): Promise<void> {
    await this.heldExecution(worker, executionId);
    await this.deps.engine.peer.stepsSkipped(executionId, stepIds, status);
  }

  /** The run reached an approval gate: it waits (the worker lets it go) unless a cancel came first. */
  async awaitApproval(
    worker: WorkerRow,
    executionId: number,
    stepId: string,
    question: string | null,
  ): Promise<boolean> {
    await this.heldStep(worker, executionId, stepId);
    return this.deps.engine.peer.awaitApproval(executionId, stepId, question);
  }

  async containerChanged(
    worker: WorkerRow,
    executionId: number,
    stepId: string,
    containerId: string | null,
  ): Promise<void> {
    await this.heldStep(worker, executionId, stepId);
    await this.deps.engine.peer.containerChanged(stepId, containerId);
  }

  /**
   * Appends whole log lines the worker sent, starting at byte `offset` of the step's log, as they are.
   * Chunks a retry sends again are cut to what is new; a chunk beyond what this server holds (it
   * restarted, or another server took the beginning) writes nothing. Returns the log's size here, from
   * which the worker goes on.
   */
  async appendLog(
    worker: WorkerRow,
    executionId: number,
    stepId: string,
    offset: number,
    chunk: Buffer,
  ): Promise<number> {
    await this.heldStep(worker, executionId, stepId);
    const writer = await this.logWriter(stepId);
    const size = writer.size;
    if (offset > size || offset + chunk.length <= size) return size;
    await writer.writeLines(chunk.subarray(size - offset));
    return writer.size;
  }

  /** The open appender of a remote step's log here (opened on first use). */
  private logWriter(stepId: string): Promise<LogWriter> {
    let opened = this.logWriters.get(stepId);
    if (!opened) {
      opened = this.deps.logs.appender(stepId);
      this.logWriters.set(stepId, opened);
    }
    return opened;
  }

  private async closeLog(stepId: string): Promise<void> {
    const opened = this.logWriters.get(stepId);
    if (!opened) return;
    this.logWriters.delete(stepId);
    await (await opened).close();
  }

  async registryAuth(worker: WorkerRow, executionId: number, identifier: string) {
    const e = await this.heldExecution(worker, executionId);
    const pipeline = await getPipelineById(this.deps.db, e.pipeline_id);
    if (!pipeline) throw new LeaseLostError('the pipeline was deleted');
    const project = await this.deps.db
      .selectFrom('projects')
      .select('workspace_id')
      .where('id', '=', pipeline.projectId)
      .executeTakeFirstOrThrow();
    return this.deps.engine.peer.registryAuth(project.workspace_id, identifier, {
      projectId: pipeline.projectId,
      pipelineId: pipeline.id,
    });
  }

  /**
   * A settable variable's new value; only a settable variable of the execution's workspace. A value
   * made from a secret (`encrypted`) turns the variable encrypted, as on a local runner.
   */
  async updateSettable(
    worker: WorkerRow,
    executionId: number,
    storedId: number,
    value: string,
    encrypted: boolean,
  ): Promise<void> {
    const e = await this.heldExecution(worker, executionId);
    const pipeline = await getPipelineById(this.deps.db, e.pipeline_id);
    const project =
      pipeline &&
      (await this.deps.db
        .selectFrom('projects')
        .select('workspace_id')
        .where('id', '=', pipeline.projectId)
        .executeTakeFirst());
    const v = project && (await getVariable(this.deps.db, project.workspace_id, storedId));
    if (!v || v.settable !== 1)
      throw new LeaseLostError(`variable ${storedId} is not a settable variable here`);
    const seal = encrypted || v.encrypted === 1;
    await this.deps.engine.peer.updateSettable(
      executionId,
      storedId,
      seal ? resealed(value, this.seal) : value,
      encrypted || undefined,
    );
  }

  async previousStatus(worker: WorkerRow, executionId: number) {
    await this.heldExecution(worker, executionId);
    return this.deps.engine.peer.previousStatus(executionId);
  }

  async done(
    worker: WorkerRow,
    executionId: number,
    status: 'SUCCESSFUL' | 'FAILED' | 'TERMINATED',
    error: string | null,
  ): Promise<void> {
    await this.heldExecution(worker, executionId);
    for (const a of await listActionExecutions(this.deps.db, [executionId])) await this.closeLog(a.id);
    await this.deps.engine.peer.done(executionId, status, error);
  }

  /** The bare mirror holding the execution's revision, for the worker's git fetch. */
  async sourceOf(worker: WorkerRow, executionId: number): Promise<string> {
    const e = await this.heldExecution(worker, executionId);
    const pipeline = await getPipelineById(this.deps.db, e.pipeline_id);
    if (!pipeline || !e.revision) throw new LeaseLostError('the pipeline was deleted');
    return this.deps.engine.peer.mirrorFor(pipeline.projectId, e.revision);
  }
}

const LOCAL: RunnerTraits = { name: null, tags: [], cpu: localCpu() };
