import type { Logger } from 'pino';
import { branchOfRefs, type PipelineEvent, type PipelineSettings } from '../domain/pipeline.ts';
import { nextSlot } from '../domain/schedule.ts';
import type { Db } from '../store/database.ts';
import { getPipelineById, recordSkippedTrigger, updatePipeline } from '../store/pipelines.ts';
import { getProjectById } from '../store/projects.ts';
import {
  claimSlot,
  deleteSlot,
  dueSchedules,
  earliestSchedule,
  lastScheduledRunsFailed,
  pipelineSchedules,
  replaceSchedules,
  type ScheduleRow,
} from '../store/schedules.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { Triggers } from './triggers.ts';

/** The clock wakes at least this often, so a slot written by another server is never missed for long. */
const MAX_SLEEP_MS = 30_000;

/**
 * Starts SCHEDULE runs. Every SCHEDULE event of a pipeline has a persisted next slot; when it is due,
 * the clock claims it by moving it to the next slot after now in one conditional UPDATE (so slots
 * missed during downtime run once, and of two servers on one database only one starts a slot), then
 * starts a run, unless the pipeline is paused. A pipeline whose last `pause_on_repeated_failures`
 * scheduled runs all failed is paused instead, as Buddy does.
 */
export class ScheduleClock {
  private readonly task: PeriodicTask;

  constructor(
    private readonly db: Db,
    private readonly triggers: Triggers,
    private readonly logger: Logger,
  ) {
    this.task = new PeriodicTask({
      round: async () => {
        await this.tick();
        return this.untilNextSlot();
      },
      failure: 'schedule tick failed',
      logger,
      maxSleepMs: MAX_SLEEP_MS,
      minSleepMs: 20,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): void {
    this.task.stop();
  }

  /** Brings a pipeline's slots in line with its SCHEDULE events after a save; unchanged events keep their next slot. */
  async sync(pipelineId: number, settings: PipelineSettings): Promise<void> {
    const existing = await pipelineSchedules(this.db, pipelineId);
    const nowMs = Date.now();
    const rows: ScheduleRow[] = [];
    settings.events.forEach((event, index) => {
      if (event.type !== 'SCHEDULE') return;
      const spec = JSON.stringify(event);
      const kept = existing.find((r) => r.event_index === index && r.spec === spec);
      if (kept) return rows.push(kept);
      const next = nextSlot(event, nowMs, nowMs);
      if (next !== null)
        rows.push({
          pipeline_id: pipelineId,
          event_index: index,
          spec,
          next_run_at: new Date(next).toISOString(),
        });
    });
    await replaceSchedules(this.db, pipelineId, rows);
    this.poke();
  }

  /** Starts the due slots now (or right after the round under way). */
  poke(): void {
    this.task.poke();
  }

  /** Milliseconds until the earliest slot of any server (null = none, or the database did not answer). */
  private async untilNextSlot(): Promise<number | null> {
    const at = await earliestSchedule(this.db).catch(() => null);
    return at === null ? null : Date.parse(at) - Date.now();
  }

  /** Starts every due slot this server manages to claim; returns how many runs it started. */
  async tick(): Promise<number> {
    let started = 0;
    const nowMs = Date.now();
    for (const slot of await dueSchedules(this.db, new Date(nowMs).toISOString())) {
      const event = JSON.parse(slot.spec) as PipelineEvent;
      const next = nextSlot(event, nowMs, nowMs);
      if (next === null) {
        await deleteSlot(this.db, slot);
        continue;
      }
      if (!(await claimSlot(this.db, slot, new Date(next).toISOString()))) continue;
      if (await this.runSlot(slot, event)) started += 1;
    }
    return started;
  }

  private async runSlot(slot: ScheduleRow, event: PipelineEvent): Promise<boolean> {
    const pipeline = await getPipelineById(this.db, slot.pipeline_id);
    if (!pipeline || pipeline.settings.paused) return false;
    const threshold = pipeline.settings.pause_on_repeated_failures;
    if (await lastScheduledRunsFailed(this.db, pipeline.id, threshold)) {
      await updatePipeline(this.db, pipeline.id, {
        name: pipeline.name,
        identifier: pipeline.identifier,
        settings: { ...pipeline.settings, paused: true },
      });
      await recordSkippedTrigger(this.db, pipeline.id, {
        date: new Date().toISOString(),
        trigger: 'SCHEDULE',
        ref: null,
        reason: `schedule paused after ${threshold} failed runs in a row (pause_on_repeated_failures)`,
      });
      this.logger.warn({ pipeline: pipeline.id }, 'schedule paused after repeated failures');
      return false;
    }
    const project = await getProjectById(this.db, pipeline.projectId);
    if (!project) return false;
    const branch = branchOfRefs(event.refs ?? []);
    const result = await this.triggers.startRun(project, pipeline, {
      trigger: 'SCHEDULE',
      ref: branch ? `refs/heads/${branch}` : null,
      body: branch ? { branch: { name: branch } } : {},
      origin: { triggeredOn: 'SCHEDULE' },
      creatorId: pipeline.creatorId,
    });
    return 'execution' in result;
  }
}
