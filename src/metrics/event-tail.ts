import type { Db } from '../store/database.ts';
import { actionTimings, enqueueDates, eventsAfter, lastEventId } from '../store/execution-stats.ts';
import type { GantryMetrics } from './metrics.ts';

const FINAL_EXECUTION = new Set(['SUCCESSFUL', 'FAILED', 'TERMINATED', 'SKIPPED', 'NOT_EXECUTED']);
const FINAL_ACTION = new Set(['SUCCESSFUL', 'FAILED', 'TERMINATED']);
const BATCH = 2000;

const seconds = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 1000;

/**
 * Feeds the execution and action counters from the store's event log instead of hooks in the
 * engine: every status change, whichever code path made it (runner, cancel, retry, recovery after a
 * restart), writes one event in the same transaction, so nothing is missed or counted twice, and the
 * engine needs no knowledge of metrics. Runs when Prometheus scrapes; starts at the newest event, so
 * the counters cover what happened since this process started (Prometheus counter semantics).
 */
export class ExecutionEventTail {
  private cursor = -1;
  /** When each execution seen entering the queue did so, until it starts. */
  private readonly enqueuedAt = new Map<number, string>();
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly metrics: GantryMetrics,
  ) {}

  /** Remembers where the event log ends now; later events are counted. */
  async start(): Promise<void> {
    this.cursor = await lastEventId(this.db);
  }

  /** Counts every event since the last call (concurrent calls share one pass). */
  catchUp(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<void> {
    if (this.cursor < 0) await this.start();
    for (;;) {
      const events = await eventsAfter(this.db, this.cursor, BATCH);
      if (events.length === 0) return;
      const started: { executionId: number; at: string }[] = [];
      const actionsEnded = new Map<string, string>();
      for (const e of events) {
        let payload: { status?: unknown; action_execution_id?: unknown };
        try {
          payload = JSON.parse(e.payload) as typeof payload;
        } catch {
          continue;
        }
        if (typeof payload.status !== 'string') continue;
        if (e.type === 'execution') {
          if (payload.status === 'ENQUEUED') this.enqueuedAt.set(e.executionId, e.createDate);
          else if (payload.status === 'INPROGRESS')
            started.push({ executionId: e.executionId, at: e.createDate });
          else if (FINAL_EXECUTION.has(payload.status)) {
            this.metrics.executionFinished(payload.status);
            this.enqueuedAt.delete(e.executionId);
          }
        } else if (
          e.type === 'action_execution' &&
          typeof payload.action_execution_id === 'string' &&
          FINAL_ACTION.has(payload.status)
        ) {
          actionsEnded.set(payload.action_execution_id, payload.status);
        }
      }
      const unknown = started.filter((s) => !this.enqueuedAt.has(s.executionId)).map((s) => s.executionId);
      const fallback = await enqueueDates(this.db, unknown);
      for (const s of started) {
        const since = this.enqueuedAt.get(s.executionId) ?? fallback.get(s.executionId);
        this.enqueuedAt.delete(s.executionId);
        if (since) this.metrics.executionStarted(seconds(since, s.at));
      }
      for (const a of await actionTimings(this.db, [...actionsEnded.keys()])) {
        if (a.startDate && a.finishDate)
          this.metrics.actionFinished(a.type, actionsEnded.get(a.id)!, seconds(a.startDate, a.finishDate));
      }
      this.cursor = events[events.length - 1]!.id;
    }
  }
}
