import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { isFinalExecutionStatus } from '../domain/status.ts';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import { instanceIdOf } from './instance-id.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import {
  crowdedPipelineRuns,
  getExecution,
  listActionExecutions,
  listByStatus,
  listRunnable,
  nextDelayedAt,
  runningPipelineIds,
  updateActionExecutionFields,
} from '../store/executions.ts';
import { transition, type TransitionChange, type TransitionHook } from '../store/transition.ts';
import { getPipelineById } from '../store/pipelines.ts';
import type { ExecutionRow } from '../store/schema.ts';
import { now } from '../store/time.ts';
import { runExecution } from './execution-runner.ts';
import type { RunnerEnvironment } from './action-step.ts';
import { actionType } from './action-types/registry.ts';
import { LocalRunnerPeer } from './local-runner-peer.ts';
import type { ActionType } from '../domain/action.ts';
import type { LogStore } from './log-store.ts';
import { PipelineFilesystem } from './pipeline-filesystem.ts';
import type { ProjectRepositories } from './project-repositories.ts';
import { pickExecutions } from './scheduler.ts';
import { refKeyOf, supersededRuns, type QueueSettings } from './queue-policy.ts';
import { STOP_REASONS } from './stop-reason.ts';
import { localCpu, runnerMatches, type RunnerTraits } from '../domain/worker-routing.ts';

/** What this server's own runner offers to pipelines' routing (worker, tags, cpu). */
const LOCAL_RUNNER: RunnerTraits = { name: null, tags: [], cpu: localCpu() };

export interface EngineDeps {
  db: Db;
  runtime: ContainerRuntime;
  repositories: ProjectRepositories;
  logs: LogStore;
  secrets: SecretBox;
  dataDir: string;
  publicUrl: string;
  networkMode: string;
  cancelGraceSeconds: number;
  maxConcurrentExecutions: number;
  logger: Logger;
  /** Run inside every status transition's transaction (an outbox write, say). */
  transitionHooks?: readonly TransitionHook[];
  /** False (gantry serve --no-local-worker): this server runs nothing itself; remote workers run everything. */
  localRunner?: boolean;
}

/** Whether a retry must run this action again although it succeeded (its result did not outlive the run). */
function rerunOnRetry(snapshotJson: string): boolean {
  const snapshot = JSON.parse(snapshotJson) as { type: ActionType; settings: never };
  return actionType(snapshot.type).rerunOnRetry(snapshot.settings);
}

/**
 * The queue is event-driven (an accepted run, a finished one and the next delayed run each wake the
 * scheduler); this slow poll only makes sure a wake-up that was lost (a failed tick, a row another
 * process queued) delays a run by seconds, not forever.
 */
const SAFETY_POLL_MS = 5_000;

/** A refused control operation (cancel, retry) on an execution in the wrong state. */
export class ExecutionStateError extends Error {}

/**
 * Owns the queue: starts executions as slots free up (priority first, FIFO within a priority), runs
 * them, cancels and retries them, and on start makes every execution a previous process left behind
 * end truthfully. `changes` emits the id of an execution whenever something about it changed.
 */
export class ExecutionEngine {
  readonly changes = new EventEmitter();
  private readonly running = new Map<
    number,
    { pipelineId: number; abort: AbortController; done: Promise<void> }
  >();
  /** Label value on every container of this Gantry (`<dataDir>/instance-id`, see instanceIdOf). */
  readonly instanceLabel: string;
  /** The path-derived label the previous version used, on the start that wrote instance-id. */
  private readonly formerLabel: string | null;
  /** The worker_session of executions this server's local runner claimed. */
  get localSession(): string {
    return `local:${this.instanceLabel}`;
  }
  private ticking = false;
  private tickAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private safetyPoll: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(private readonly deps: EngineDeps) {
    this.changes.setMaxListeners(0);
    // Containers are labelled with this instance so a sweep never touches another Gantry's on the same engine.
    const { id, former } = instanceIdOf(deps.dataDir);
    this.instanceLabel = id;
    this.formerLabel = former;
    this.runnerEnv = {
      runtime: deps.runtime,
      networkMode: deps.networkMode,
      cancelGraceSeconds: deps.cancelGraceSeconds,
      dataDir: deps.dataDir,
      instanceLabel: this.instanceLabel,
    };
    this.peer = new LocalRunnerPeer({
      db: deps.db,
      secrets: deps.secrets,
      logs: deps.logs,
      repositories: deps.repositories,
      dataDir: deps.dataDir,
      publicUrl: deps.publicUrl,
      transition: (id, change) => this.transition(id, change),
      notify: (id) => this.changes.emit('execution', id),
      localSession: this.localSession,
    });
  }

  private readonly runnerEnv: RunnerEnvironment;
  /** The server side of the runner port; remote workers reach it through the worker routes. */
  readonly peer: LocalRunnerPeer;
  /** Runs executions itself (unless gantry serve --no-local-worker). */
  get runsLocally(): boolean {
    return this.deps.localRunner !== false;
  }

  /** The store's one transition, with this engine's hooks. */
  transition(executionId: number, change: TransitionChange): Promise<ExecutionRow | undefined> {
    return transition(this.deps.db, executionId, change, this.deps.transitionHooks ?? []);
  }

  /** Recovers from a previous process, then starts scheduling. */
  async start(): Promise<void> {
    await this.recover();
    this.stopped = false;
    this.safetyPoll = setInterval(() => this.poke(), SAFETY_POLL_MS);
    this.safetyPoll.unref();
    this.poke();
  }

  /**
   * Executions that were running when the last process died cannot be resumed faithfully (their
   * output stream is gone), so they fail saying why, their containers are removed, and queued ones
   * simply run.
   */
  private async recover(): Promise<void> {
    const { db, logger } = this.deps;
    // Executions on remote workers go on there (their leases decide, worker-hub.ts), and so do those
    // of other servers on the same database; runs claimed before sessions were recorded count as ours.
    const sessions = [this.localSession, ...(this.formerLabel ? [`local:${this.formerLabel}`] : [])];
    const ours = (e: ExecutionRow): boolean =>
      e.worker === null && (e.worker_session === null || sessions.includes(e.worker_session));
    for (const e of (await listByStatus(db, ['INPROGRESS', 'TERMINATING'])).filter(ours)) {
      const wasCancelled = e.status === 'TERMINATING';
      const cut = (await listActionExecutions(db, [e.id])).filter((a) => a.status === 'INPROGRESS');
      // The writer that kept each log's line count died with the process; the file still has every whole line.
      const lineCounts = await Promise.all(
        cut.map(async (a) => ({ id: a.id, lines: await this.deps.logs.countLines(a.id) })),
      );
      await this.transition(e.id, {
        execution: {
          from: ['INPROGRESS', 'TERMINATING'],
          to: wasCancelled ? 'TERMINATED' : 'FAILED',
          fields: { finish_date: now(), error_message: 'the server restarted while the execution ran' },
        },
        actions: [
          ...lineCounts.map(({ id, lines }) => ({
            ids: [id],
            from: ['INPROGRESS'] as const,
            to: wasCancelled ? ('TERMINATED' as const) : ('FAILED' as const),
            fields: {
              finish_date: now(),
              error_message: 'the server restarted while the action ran',
              container_id: null,
              log_lines: lines,
            },
          })),
          { from: ['ENQUEUED', 'INITIAL'], to: 'NOT_EXECUTED' },
        ],
      });
      logger.warn({ execution: e.id }, 'execution interrupted by a restart marked as ended');
    }
    for (const label of [this.instanceLabel, ...(this.formerLabel ? [this.formerLabel] : [])])
      await this.removeContainersOf(label, 'a previous run');
  }

  /**
   * Removes, from this server's Docker engine, the containers and volumes labelled with instance
   * `label`: this server's own at start, or those of a server on the same engine that died for good
   * (worker-hub.ts, once its lease expired and its runs were ended). Returns how many containers.
   */
  async removeContainersOf(label: string, leftBy: string): Promise<number> {
    const { runtime, logger } = this.deps;
    const leftovers = await runtime.listContainers({ 'gantry.instance': label });
    for (const c of leftovers) {
      await runtime.removeContainer(c.id);
      logger.warn({ container: c.id }, `removed a container left by ${leftBy}`);
    }
    // Volumes pinning volume mappings outlive a crash between their creation and their container's removal.
    for (const name of await runtime.removeLeftoverVolumes({ 'gantry.instance': label }))
      logger.warn({ volume: name }, `removed a volume left by ${leftBy}`);
    return leftovers.length;
  }

  /** Asks the scheduler to look at the queue soon. */
  poke(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    void this.tick()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'scheduler tick failed'))
      .finally(() => {
        this.ticking = false;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.poke();
        }
      });
  }

  private async tick(): Promise<void> {
    const { db, maxConcurrentExecutions } = this.deps;
    await this.endSupersededRuns();
    const free = this.runsLocally ? maxConcurrentExecutions - this.running.size : 0;
    if (free > 0) {
      // A launched execution stays ENQUEUED in the store until its runner's first write: it must be
      // neither launched twice nor leave its pipeline looking idle to a non-concurrent sibling.
      const flags = new Map<number, { concurrent: boolean; local: boolean }>();
      const queued: ExecutionRow[] = [];
      for (const e of await listRunnable(db, 200)) {
        if (this.running.has(e.id)) continue;
        if (!flags.has(e.pipeline_id)) {
          const settings = (await getPipelineById(db, e.pipeline_id))?.settings;
          flags.set(e.pipeline_id, {
            concurrent: settings?.concurrent_pipeline_runs ?? false,
            // A pipeline routed to workers (worker, tags, another CPU) waits for one.
            local: settings ? runnerMatches(settings, LOCAL_RUNNER) : true,
          });
        }
        if (flags.get(e.pipeline_id)!.local) queued.push(e);
      }
      const busy = await runningPipelineIds(db);
      for (const run of this.running.values()) busy.add(run.pipelineId);
      const picked = pickExecutions(
        queued.map((e) => ({
          id: e.id,
          pipelineId: e.pipeline_id,
          concurrentPipelineRuns: flags.get(e.pipeline_id)?.concurrent ?? false,
        })),
        busy,
        free,
      );
      // A drain may have begun while this tick read the queue: what it picked stays queued.
      for (const p of picked) if (!this.stopped) this.launch(p.id, p.pipelineId);
    }
    const at = await nextDelayedAt(db);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (at && !this.stopped) {
      const wait = Math.min(Math.max(Date.parse(at) - Date.now(), 10), 60_000);
      this.timer = setTimeout(() => this.poke(), wait);
      this.timer.unref();
    }
  }

  /**
   * Buddy's queue options (queue-policy.ts): a run that a newer one of its pipeline supersedes ends
   * SKIPPED (waiting, no_skip_to_most_recent off) or TERMINATED (same branch, terminate_stale_runs),
   * saying which run superseded it. A remote worker's run is asked to stop as a cancel asks it.
   */
  private async endSupersededRuns(): Promise<void> {
    const { db, logger } = this.deps;
    const rows = await crowdedPipelineRuns(db);
    if (rows.length === 0) return;
    const settings = new Map<number, QueueSettings>();
    for (const id of new Set(rows.map((r) => r.pipeline_id))) {
      const pipeline = await getPipelineById(db, id);
      if (pipeline) settings.set(id, pipeline.settings);
    }
    const active = rows.map((r) => ({
      id: r.id,
      pipelineId: r.pipeline_id,
      refKey: refKeyOf(r.branch, r.tag),
      // A run that has started before (retried, or approved at a gate) goes on: only new runs are skipped.
      waiting: r.status === 'ENQUEUED' && !this.running.has(r.id) && r.start_date === null,
    }));
    for (const s of supersededRuns(active, settings)) {
      const run = this.running.get(s.id);
      if (s.action === 'SKIP') {
        const reason = `skipped: a newer run (execution ${s.newerId}) of this pipeline is queued and runs instead (no_skip_to_most_recent is off)`;
        await this.transition(s.id, {
          execution: {
            from: ['ENQUEUED'],
            to: 'SKIPPED',
            fields: { finish_date: now(), error_message: reason },
          },
          actions: [{ from: ['ENQUEUED', 'INITIAL'], to: 'NOT_EXECUTED' }],
        });
      } else {
        const reason = `terminated: a newer run (execution ${s.newerId}) of the same branch was started (terminate_stale_runs)`;
        const row = rows.find((r) => r.id === s.id)!;
        if (run) {
          await this.transition(s.id, { execution: { from: ['INPROGRESS'], to: 'TERMINATING' } });
          run.abort.abort(reason);
        } else if (row.worker !== null && row.status === 'INPROGRESS') {
          // A remote worker's run: the worker learns of it from its heartbeat and stops it.
          await this.transition(s.id, {
            execution: { from: ['INPROGRESS'], to: 'TERMINATING', fields: { error_message: reason } },
          });
        } else if (row.status === 'WAITING_FOR_APPLY') {
          if (!(await this.endWaiting(s.id, reason, null))) continue;
        } else if (active.find((a) => a.id === s.id)?.waiting) {
          await this.transition(s.id, {
            execution: {
              from: ['ENQUEUED'],
              to: 'TERMINATED',
              fields: { finish_date: now(), error_message: reason },
            },
            actions: [
              { from: ['ENQUEUED', 'INITIAL'], to: 'NOT_EXECUTED', fields: { termination_date: now() } },
            ],
          });
        } else continue;
      }
      logger.info({ execution: s.id, newer: s.newerId, action: s.action }, 'run superseded by a newer one');
      this.changes.emit('execution', s.id);
    }
  }

  private launch(executionId: number, pipelineId: number): void {
    const abort = new AbortController();
    const done = runExecution(this.runnerEnv, this.peer, executionId, abort.signal)
      .catch((err: unknown) => this.failUnexpectedly(executionId, err))
      .finally(() => {
        this.running.delete(executionId);
        this.changes.emit('execution', executionId);
        this.poke();
      });
    this.running.set(executionId, { pipelineId, abort, done });
  }

  /** A bug or infrastructure fault escaped the runner: the execution still ends truthfully. */
  private async failUnexpectedly(executionId: number, err: unknown): Promise<void> {
    this.deps.logger.error({ err, execution: executionId }, 'execution crashed');
    await this.transition(executionId, {
      execution: {
        from: ['ENQUEUED', 'INPROGRESS', 'TERMINATING'],
        to: 'FAILED',
        fields: { finish_date: now(), error_message: `internal error: ${(err as Error).message}` },
      },
      actions: [
        {
          from: ['INPROGRESS'],
          to: 'FAILED',
          fields: { finish_date: now(), error_message: 'the execution crashed' },
        },
        { from: ['ENQUEUED', 'INITIAL'], to: 'NOT_EXECUTED' },
      ],
    });
  }

  /** Called after an execution was accepted and persisted. */
  enqueued(executionId: number): void {
    this.changes.emit('execution', executionId);
    this.poke();
  }

  /**
   * Stops a queued or running execution: queued ones end at once, running ones get SIGTERM, then
   * SIGKILL after the grace period, and end TERMINATED once their containers are gone.
   */
  async cancel(executionId: number, userId: number): Promise<ExecutionRow> {
    const { db } = this.deps;
    const e = await getExecution(db, executionId);
    if (!e) throw new ExecutionStateError(`execution ${executionId} not found`);
    if (e.status === 'ENQUEUED' && !this.running.has(executionId)) {
      const moved = await this.transition(executionId, {
        execution: {
          from: ['ENQUEUED'],
          to: 'TERMINATED',
          fields: { finish_date: now(), error_message: STOP_REASONS.cancelled },
        },
        actions: [
          {
            from: ['ENQUEUED', 'INITIAL'],
            to: 'NOT_EXECUTED',
            fields: { terminator_id: userId, termination_date: now() },
          },
        ],
      });
      if (moved) {
        this.changes.emit('execution', executionId);
        return moved;
      }
    }
    if (e.status === 'WAITING_FOR_APPLY') {
      // Nothing runs while a run waits for an approval: it ends at once.
      const moved = await this.endWaiting(executionId, STOP_REASONS.cancelled, userId);
      if (moved) return moved;
    }
    if (e.worker !== null && e.status === 'INPROGRESS') {
      // A remote worker's run: the worker learns of it from its heartbeat and stops the containers;
      // if the worker is gone, its lease ends the execution TERMINATED.
      const moved = await this.transition(executionId, {
        execution: { from: ['INPROGRESS'], to: 'TERMINATING' },
      });
      this.changes.emit('execution', executionId);
      if (moved) return moved;
    }
    const run = this.running.get(executionId);
    if (!run || isFinalExecutionStatus(e.status))
      throw new ExecutionStateError(
        `execution ${executionId} is ${e.status}; only queued or running executions can be cancelled`,
      );
    await this.transition(executionId, { execution: { from: ['INPROGRESS'], to: 'TERMINATING' } });
    this.changes.emit('execution', executionId);
    run.abort.abort(STOP_REASONS.cancelled);
    await run.done;
    return (await getExecution(db, executionId))!;
  }

  /**
   * Ends a run waiting for an approval TERMINATED: the gate TERMINATED, the actions after it
   * NOT_EXECUTED; `userId` is the terminator when a user cancelled it. Undefined when it no longer waited.
   */
  private async endWaiting(
    executionId: number,
    reason: string,
    userId: number | null,
  ): Promise<ExecutionRow | undefined> {
    const by = { terminator_id: userId, termination_date: now() };
    const moved = await this.transition(executionId, {
      execution: {
        from: ['WAITING_FOR_APPLY'],
        to: 'TERMINATED',
        fields: { finish_date: now(), error_message: reason },
      },
      actions: [
        {
          from: ['WAITING_FOR_APPLY'],
          to: 'TERMINATED',
          fields: { ...by, finish_date: now(), progress: 100 },
        },
        { from: ['ENQUEUED', 'INITIAL'], to: 'NOT_EXECUTED', fields: by },
      ],
    });
    this.changes.emit('execution', executionId);
    return moved;
  }

  /**
   * Approves the gate a run waits at (APPLY): the gate ends SUCCESSFUL with its approver and date, and
   * the execution goes back to the queue, so whichever runner is free goes on from the next action on
   * the pipeline filesystem as the first part left it (resume_pending). Builds whose images were pruned
   * when the run stopped at the gate run again, as for a retry. `comment` goes to the gate's log.
   */
  async apply(
    executionId: number,
    approver: { id: number; name: string; email: string },
    comment: string | null,
  ): Promise<ExecutionRow> {
    const { db } = this.deps;
    const rows = await listActionExecutions(db, [executionId]);
    const gates = rows.filter((a) => a.status === 'WAITING_FOR_APPLY').map((a) => a.id);
    const rebuild = rows
      .filter((a) => a.status === 'SUCCESSFUL' && rerunOnRetry(a.action_snapshot))
      .map((a) => a.id);
    const at = now();
    const moved = await this.transition(executionId, {
      execution: { from: ['WAITING_FOR_APPLY'], to: 'ENQUEUED', fields: { resume_pending: 1 } },
      actions: [
        {
          ids: gates,
          from: ['WAITING_FOR_APPLY'],
          to: 'SUCCESSFUL',
          fields: { approver_id: approver.id, approval_date: at, finish_date: at, progress: 100 },
        },
        {
          ids: rebuild,
          from: ['SUCCESSFUL'],
          to: 'ENQUEUED',
          fields: { start_date: null, finish_date: null, error_message: null, progress: 0, log_lines: 0 },
        },
      ],
    });
    if (!moved)
      throw new ExecutionStateError(`execution ${executionId} is no longer waiting for an approval`);
    for (const id of gates) {
      // On the server whose runner reached the gate, or (PostgreSQL) in the database for every server.
      const lines = await this.deps.logs.appendLine(
        id,
        `Approved by ${approver.name} <${approver.email}>${comment ? `: ${comment}` : ''}`,
      );
      await updateActionExecutionFields(db, id, { log_lines: lines });
    }
    this.deps.logger.info({ execution: executionId, approver: approver.id }, 'approval gate approved');
    this.enqueued(executionId);
    return moved;
  }

  /** Re-runs a failed or terminated execution from the first action that did not succeed, at the same revision. */
  async retry(executionId: number): Promise<ExecutionRow> {
    const { db } = this.deps;
    const e = await getExecution(db, executionId);
    if (!e) throw new ExecutionStateError(`execution ${executionId} not found`);
    if (e.status !== 'FAILED' && e.status !== 'TERMINATED') {
      throw new ExecutionStateError(
        `execution ${executionId} is ${e.status}; only FAILED or TERMINATED executions can be retried`,
      );
    }
    const again = (await listActionExecutions(db, [executionId]))
      .filter((a) => a.status !== 'SUCCESSFUL' || rerunOnRetry(a.action_snapshot))
      .map((a) => a.id);
    // One transaction: a retry that loses a race to another writer leaves every action as it was.
    const moved = await this.transition(executionId, {
      execution: {
        from: ['FAILED', 'TERMINATED'],
        to: 'ENQUEUED',
        fields: { finish_date: null, error_message: null },
      },
      actions: [
        {
          ids: again,
          to: 'ENQUEUED',
          fields: {
            start_date: null,
            finish_date: null,
            error_message: null,
            progress: 0,
            log_lines: 0,
            terminator_id: null,
            termination_date: null,
            approver_id: null,
            approval_date: null,
          },
        },
      ],
    });
    if (!moved) throw new ExecutionStateError(`execution ${executionId} changed state; try again`);
    this.enqueued(executionId);
    return moved;
  }

  async clearCache(pipelineId: number): Promise<void> {
    await new PipelineFilesystem(this.deps.dataDir, pipelineId).clearCache();
  }

  async forgetPipeline(pipelineId: number): Promise<void> {
    await new PipelineFilesystem(this.deps.dataDir, pipelineId).remove();
  }

  /** Executions this process is running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /**
   * First half of a graceful stop: no queued execution starts any more (they stay ENQUEUED and run
   * after the next start) while running ones go on. Resolves true once none runs, false when
   * `timeoutMs` passed or `hurry` was aborted first.
   */
  async drain(timeoutMs: number, hurry?: AbortSignal): Promise<boolean> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.safetyPoll) clearInterval(this.safetyPoll);
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      if (hurry?.aborted) resolve(false);
      hurry?.addEventListener('abort', () => resolve(false), { once: true });
    });
    try {
      // The map is read again after every round: a tick that was already past its check may add one.
      while (this.running.size > 0) {
        const all = Promise.all([...this.running.values()].map((r) => r.done)).then(() => true);
        if (!(await Promise.race([all, givenUp]))) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Terminates what the local runner runs now, saying `reason`; scheduling goes on. */
  abortRuns(reason: string): void {
    for (const run of this.running.values()) run.abort.abort(reason);
  }

  /**
   * Stops scheduling and terminates what runs, saying `reason` (default: the server shut down),
   * waiting for containers to be removed.
   */
  async stop(reason: string = STOP_REASONS.shutdown): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.safetyPoll) clearInterval(this.safetyPoll);
    for (const run of this.running.values()) run.abort.abort(reason);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}
