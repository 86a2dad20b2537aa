import type { Logger } from 'pino';
import type { ProjectRepositories } from '../engine/project-repositories.ts';
import type { Db } from '../store/database.ts';
import {
  advanceRefs,
  claimPoll,
  externalProjects,
  externalRepository,
  forgetRefs,
  storedRefs,
  updateExternalRepository,
} from '../store/external-repositories.ts';
import { getUser } from '../store/identity.ts';
import { projectPipelines } from '../store/pipelines.ts';
import { webhooksFor } from '../store/webhooks.ts';
import type { ExecutionRow, ProjectRow } from '../store/schema.ts';
import { now } from '../store/time.ts';
import { getWorkspaceById } from '../store/workspaces.ts';
import { PeriodicTask } from './periodic-task.ts';
import { diffRefs, type RefUpdate } from './ref-updates.ts';

const REF_EVENTS: ReadonlySet<string> = new Set(['PUSH', 'CREATE_REF', 'DELETE_REF']);

/** The clock wakes at least this often, so projects added or changed elsewhere are picked up. */
const MAX_SLEEP_MS = 30_000;

/** Who a change is attributed to: the forge's pusher when Gantry knows them, else the project's creator. */
export interface ChangeAuthor {
  id: number;
  email: string;
}

/** What a look at an external repository found. */
export interface RepositoryCheck {
  /** True when this was the first look: the refs became the baseline and nothing was triggered. */
  baseline: boolean;
  updates: RefUpdate[];
  started: ExecutionRow[];
}

/** The part of Triggers the poller uses (the ref-change path hosted pushes take too). */
export interface RefChangeSink {
  onRefUpdates(
    project: ProjectRow,
    updates: readonly RefUpdate[],
    creatorId: number,
  ): Promise<ExecutionRow[]>;
  notifyPush(
    domain: string,
    project: ProjectRow,
    updates: readonly RefUpdate[],
    pusher: { id: number; email: string },
  ): Promise<void>;
}

/**
 * Starts pipelines on changes of external repositories (custom_repo_url), as a push does for hosted
 * ones. Each project is looked at every `poll_interval` seconds (its own setting, else the server's;
 * 0 = never) while a pipeline's ref event or a PUSH webhook listens, and whenever its forge calls the
 * project's push endpoint. A look fetches the mirror and
 * compares its refs with the refs stored at the last look; the change is claimed by moving the
 * stored refs in one conditional UPDATE, so a change starts its runs once, whichever server or call
 * saw it first. The first look, and the first after custom_repo_url changed, only records the refs (a
 * project does not run on a repository's history).
 */
export class RepositoryPoller {
  private readonly task: PeriodicTask;
  /** Looks at one project's repository are taken one at a time. */
  private readonly checking = new Map<number, Promise<unknown>>();

  constructor(
    private readonly db: Db,
    private readonly repositories: ProjectRepositories,
    private readonly sink: RefChangeSink,
    /** Seconds between polls of a project without its own interval; 0 = no polling. */
    private readonly defaultIntervalSeconds: number,
    private readonly logger: Logger,
  ) {
    this.task = new PeriodicTask({
      round: () => this.tick(),
      failure: 'repository poll failed',
      logger,
      maxSleepMs: MAX_SLEEP_MS,
      minSleepMs: 100,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): void {
    this.task.stop();
  }

  /** Looks at the due projects now (or right after the look under way). */
  poke(): void {
    this.task.poke();
  }

  /** The interval of a project in seconds: its own, else the server's (0 = not polled). */
  intervalOf(own: number | null): number {
    return own ?? this.defaultIntervalSeconds;
  }

  /** Polls every due project this server manages to claim; returns milliseconds until the next is due. */
  async tick(): Promise<number> {
    let next = MAX_SLEEP_MS;
    const nowMs = Date.now();
    for (const { project, state } of await externalProjects(this.db)) {
      const interval = this.intervalOf(state?.poll_interval ?? null);
      if (interval <= 0 || this.task.isStopped) continue;
      if (!(await this.watched(project))) {
        // Changes made while nobody listened start nothing later: the next look takes a new baseline.
        if (state?.refs) await forgetRefs(this.db, project.id);
        continue;
      }
      const dueAt = state?.next_poll_at ? Date.parse(state.next_poll_at) : nowMs;
      if (dueAt > nowMs) {
        next = Math.min(next, dueAt - nowMs);
        continue;
      }
      const row = state ?? (await externalRepository(this.db, project.id));
      const nextAt = new Date(nowMs + interval * 1000).toISOString();
      if (!(await claimPoll(this.db, project.id, row.next_poll_at, nextAt))) continue;
      next = Math.min(next, interval * 1000);
      await this.check(project, null).catch((err: unknown) =>
        this.logger.warn({ err, project: project.id }, 'polling an external repository failed'),
      );
    }
    return next;
  }

  /**
   * Fetches the project's repository and starts the pipelines its ref changes since the last look
   * trigger, attributed to `author` (else the project's creator). Throws when the fetch fails; the
   * error is also kept as the project's last poll error.
   */
  check(project: ProjectRow, author: ChangeAuthor | null): Promise<RepositoryCheck> {
    const previous = this.checking.get(project.id) ?? Promise.resolve();
    const job = previous.catch(() => undefined).then(() => this.checkNow(project, author));
    this.checking.set(project.id, job);
    return job.finally(() => {
      if (this.checking.get(project.id) === job) this.checking.delete(project.id);
    });
  }

  private async checkNow(project: ProjectRow, author: ChangeAuthor | null): Promise<RepositoryCheck> {
    const { db } = this;
    const row = await externalRepository(db, project.id);
    try {
      await this.repositories.sync(project);
    } catch (err) {
      await updateExternalRepository(db, project.id, {
        last_poll_at: now(),
        last_poll_error: (err as Error).message,
      });
      throw err;
    }
    const refs = await this.repositories.mirrorRefs(project.id);
    await updateExternalRepository(db, project.id, { last_poll_at: now(), last_poll_error: null });
    const source = project.custom_repo_url ?? '';
    // The first look, or the first at a new URL: nothing to compare with.
    if (row.refs === null || row.source !== source) {
      await advanceRefs(db, project.id, row.version, source, refs);
      return { baseline: true, updates: [], started: [] };
    }
    const updates = diffRefs(storedRefs(row), refs);
    if (updates.length === 0 || !(await advanceRefs(db, project.id, row.version, source, refs)))
      return { baseline: false, updates: [], started: [] };
    const by = author ?? (await this.creatorOf(project));
    const ws = await getWorkspaceById(db, project.workspace_id);
    if (ws) await this.sink.notifyPush(ws.domain, project, updates, by);
    const started = await this.sink.onRefUpdates(project, updates, by.id);
    this.logger.info(
      { project: project.id, refs: updates.length, started: started.length },
      'external repository changed',
    );
    return { baseline: false, updates, started };
  }

  /** Whether anything listens for the project's ref changes: a pipeline's ref event or a PUSH webhook. */
  private async watched(project: ProjectRow): Promise<boolean> {
    const pipelines = await projectPipelines(this.db, project.id);
    if (pipelines.some((p) => p.settings.events.some((e) => REF_EVENTS.has(e.type)))) return true;
    return (await webhooksFor(this.db, project.workspace_id, 'PUSH')).some((w) => {
      const names = JSON.parse(w.projects) as string[];
      return names.length === 0 || names.includes(project.name);
    });
  }

  private async creatorOf(project: ProjectRow): Promise<ChangeAuthor> {
    const user = await getUser(this.db, project.created_by);
    return { id: project.created_by, email: user?.email ?? '' };
  }
}
