import type { Logger } from 'pino';
import type { ExecutionEngine } from '../engine/engine.ts';
import type { ProjectRepositories } from '../engine/project-repositories.ts';
import {
  acceptRunRequest,
  ConditionNotMetError,
  RunRequestError,
  type RunOrigin,
  type RunRequestBody,
} from '../engine/run-request.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import { projectPipelines, recordSkippedTrigger, type Pipeline } from '../store/pipelines.ts';
import type { ExecutionRow, ProjectRow } from '../store/schema.ts';
import { now } from '../store/time.ts';
import { RepositoryPoller } from './repository-poller.ts';
import { ScheduleClock } from './schedule-clock.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';
import { enqueuePushWebhooks } from './webhook-outbox.ts';
import { eventRuns, runRequestFor, type RefUpdate } from './ref-updates.ts';

export interface TriggerDeps {
  db: Db;
  repositories: ProjectRepositories;
  secrets: SecretBox;
  engine: ExecutionEngine;
  webhooks: WebhookDispatcher;
  logger: Logger;
  /** Seconds between polls of an external repository without its own interval; 0 = none. */
  repositoryPollSeconds: number;
}

/** What asks for a run: the trigger's name (PUSH, SCHEDULE, WEBHOOK, ...), the ref it concerns, the request. */
export interface TriggeredRun {
  trigger: string;
  ref: string | null;
  body: RunRequestBody;
  origin: RunOrigin;
  creatorId: number;
}

/** The run started, or why not: `condition` when the pipeline's trigger conditions stopped it (not an error of the caller). */
export type StartResult =
  { execution: ExecutionRow } | { skipped: string; status: RunRequestError['status']; condition: boolean };

/**
 * Turns events (ref changes, schedule slots, trigger-webhook calls) into executions. A trigger that
 * matches but cannot start a run (pipeline disabled, a condition fails, the revision is gone) starts
 * nothing and is recorded on the pipeline as its last skipped trigger, with the reason.
 */
export class Triggers {
  readonly schedules: ScheduleClock;
  readonly externalRepositories: RepositoryPoller;

  constructor(private readonly deps: TriggerDeps) {
    this.schedules = new ScheduleClock(deps.db, this, deps.logger);
    this.externalRepositories = new RepositoryPoller(
      deps.db,
      deps.repositories,
      this,
      deps.repositoryPollSeconds,
      deps.logger,
    );
  }

  /** Starts the clocks (schedules, polls of external repositories). */
  start(): void {
    this.schedules.start();
    this.externalRepositories.start();
  }

  stop(): void {
    this.schedules.stop();
    this.externalRepositories.stop();
  }

  /** Starts one run of `pipeline` for a trigger; returns the execution, or why it was skipped (with an HTTP status). */
  async startRun(project: ProjectRow, pipeline: Pipeline, run: TriggeredRun): Promise<StartResult> {
    const { db, logger } = this.deps;
    let reason: string;
    let status: RunRequestError['status'] = 400;
    let condition = false;
    try {
      const execution = await acceptRunRequest(
        this.deps,
        project,
        pipeline,
        run.body,
        run.creatorId,
        run.origin,
      );
      this.deps.engine.enqueued(execution.id);
      return { execution };
    } catch (err) {
      if (!(err instanceof RunRequestError)) throw err;
      reason = err.message;
      status = err.status;
      condition = err instanceof ConditionNotMetError;
    }
    await recordSkippedTrigger(db, pipeline.id, { date: now(), trigger: run.trigger, ref: run.ref, reason });
    logger.info({ pipeline: pipeline.id, trigger: run.trigger, ref: run.ref, reason }, 'trigger skipped');
    return { skipped: reason, status, condition };
  }

  /** Outbox rows for the workspace's PUSH webhooks after a push to a hosted repository. */
  async notifyPush(
    domain: string,
    project: ProjectRow,
    updates: readonly RefUpdate[],
    pusher: { id: number; email: string },
  ): Promise<void> {
    await enqueuePushWebhooks(this.deps.db, domain, project, updates, pusher);
    this.deps.webhooks.poke();
  }

  /**
   * Ref changes of a project's repository (a push to the hosted repository, or new refs seen in an
   * external one) start every pipeline whose PUSH / CREATE_REF / DELETE_REF event matches, once per
   * pipeline and ref. Returns the executions started.
   */
  async onRefUpdates(
    project: ProjectRow,
    updates: readonly RefUpdate[],
    creatorId: number,
  ): Promise<ExecutionRow[]> {
    if (updates.length === 0) return [];
    const pipelines = await projectPipelines(this.deps.db, project.id);
    if (!pipelines.some((p) => p.settings.events.length > 0)) return [];
    // One fetch for all the runs below (each run request would otherwise find the mirror behind).
    await this.deps.repositories.sync(project).catch(() => undefined);
    const defaultBranch = project.default_branch ?? (await this.deps.repositories.defaultBranch(project.id));
    const runs = eventRuns(pipelines, updates, defaultBranch);
    const started: ExecutionRow[] = [];
    for (const r of runs) {
      const pipeline = pipelines.find((p) => p.id === r.pipelineId)!;
      const { body, origin } = runRequestFor(r.update);
      const result = await this.startRun(project, pipeline, {
        trigger: r.event,
        ref: r.update.ref,
        body,
        origin,
        creatorId,
      });
      if ('execution' in result) started.push(result.execution);
    }
    return started;
  }
}
