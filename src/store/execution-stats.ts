import type { Db } from './database.ts';

/**
 * Read-only queries behind the Prometheus metrics. They follow `execution_events`, the append-only
 * log every status change writes in the same transaction as the change itself, so the metrics see
 * every execution and action that ends — by the runner, a cancel, or recovery after a restart.
 */

export interface StatusEvent {
  id: number;
  executionId: number;
  /** "execution" or "action_execution". */
  type: string;
  payload: string;
  createDate: string;
}

/** Id of the newest event (0 when there is none): where a fresh process starts following. */
export async function lastEventId(db: Db): Promise<number> {
  const row = await db
    .selectFrom('execution_events')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

/** Up to `limit` events after `afterId`, oldest first. */
export async function eventsAfter(db: Db, afterId: number, limit: number): Promise<StatusEvent[]> {
  const rows = await db
    .selectFrom('execution_events')
    .select(['id', 'execution_id', 'type', 'payload', 'create_date'])
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    executionId: r.execution_id,
    type: r.type,
    payload: r.payload,
    createDate: r.create_date,
  }));
}

/** When each of `ids` was first accepted (a fallback for queue wait when the ENQUEUED event is older than the process). */
export async function enqueueDates(db: Db, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('executions')
    .select(['id', 'enqueue_date'])
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, r.enqueue_date]));
}

export interface ActionTiming {
  id: string;
  startDate: string | null;
  finishDate: string | null;
  /** The action's type as it was when the execution was created. */
  type: string;
}

export async function actionTimings(db: Db, ids: string[]): Promise<ActionTiming[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('action_executions')
    .select(['id', 'start_date', 'finish_date', 'action_snapshot'])
    .where('id', 'in', ids)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    startDate: r.start_date,
    finishDate: r.finish_date,
    type: (JSON.parse(r.action_snapshot) as { type?: string }).type ?? 'UNKNOWN',
  }));
}

export interface QueueStats {
  /** Waiting for a free slot. */
  queued: number;
  /** Held by delay_until. */
  delayed: number;
  /** Since when the oldest waiting execution was accepted; null when none waits. */
  oldestEnqueueDate: string | null;
  running: number;
}

export async function queueStats(db: Db, nowIso: string): Promise<QueueStats> {
  const rows = await db
    .selectFrom('executions')
    .select(['status', 'delay_until', 'enqueue_date'])
    .where('status', 'in', ['ENQUEUED', 'INPROGRESS', 'TERMINATING'])
    .execute();
  const stats: QueueStats = { queued: 0, delayed: 0, oldestEnqueueDate: null, running: 0 };
  for (const r of rows) {
    if (r.status !== 'ENQUEUED') stats.running++;
    else if (r.delay_until !== null && r.delay_until > nowIso) stats.delayed++;
    else {
      stats.queued++;
      if (stats.oldestEnqueueDate === null || r.enqueue_date < stats.oldestEnqueueDate)
        stats.oldestEnqueueDate = r.enqueue_date;
    }
  }
  return stats;
}
