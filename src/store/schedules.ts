import type { Db } from './database.ts';
import type { PipelineSchedulesTable } from './schema.ts';

export type ScheduleRow = PipelineSchedulesTable;

export async function pipelineSchedules(db: Db, pipelineId: number): Promise<ScheduleRow[]> {
  return db.selectFrom('pipeline_schedules').selectAll().where('pipeline_id', '=', pipelineId).execute();
}

/** Replaces a pipeline's schedule slots with `rows` (in one transaction). */
export async function replaceSchedules(db: Db, pipelineId: number, rows: ScheduleRow[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('pipeline_schedules').where('pipeline_id', '=', pipelineId).execute();
    if (rows.length > 0) await trx.insertInto('pipeline_schedules').values(rows).execute();
  });
}

/** Slots due at `at` (ISO), earliest first. */
export async function dueSchedules(db: Db, at: string, limit = 100): Promise<ScheduleRow[]> {
  return db
    .selectFrom('pipeline_schedules')
    .selectAll()
    .where('next_run_at', '<=', at)
    .orderBy('next_run_at')
    .limit(limit)
    .execute();
}

export async function earliestSchedule(db: Db): Promise<string | null> {
  const row = await db
    .selectFrom('pipeline_schedules')
    .select((eb) => eb.fn.min('next_run_at').as('at'))
    .executeTakeFirst();
  return (row?.at as string | null | undefined) ?? null;
}

/**
 * Claims the slot `slot.next_run_at` by moving it to `next` only if nobody moved it first: one
 * conditional UPDATE, so of two servers on one database exactly one starts the slot.
 */
export async function claimSlot(db: Db, slot: ScheduleRow, next: string): Promise<boolean> {
  const result = await db
    .updateTable('pipeline_schedules')
    .set({ next_run_at: next })
    .where('pipeline_id', '=', slot.pipeline_id)
    .where('event_index', '=', slot.event_index)
    .where('next_run_at', '=', slot.next_run_at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteSlot(db: Db, slot: ScheduleRow): Promise<void> {
  await db
    .deleteFrom('pipeline_schedules')
    .where('pipeline_id', '=', slot.pipeline_id)
    .where('event_index', '=', slot.event_index)
    .where('next_run_at', '=', slot.next_run_at)
    .execute();
}

/** Whether the pipeline's last `n` finished scheduled runs all failed (for pause_on_repeated_failures). */
export async function lastScheduledRunsFailed(db: Db, pipelineId: number, n: number): Promise<boolean> {
  if (n <= 0) return false;
  const rows = await db
    .selectFrom('executions')
    .select('status')
    .where('pipeline_id', '=', pipelineId)
    .where('triggered_on', '=', 'SCHEDULE')
    .where('status', 'in', ['SUCCESSFUL', 'FAILED', 'TERMINATED'])
    .orderBy('id', 'desc')
    .limit(n)
    .execute();
  return rows.length === n && rows.every((r) => r.status === 'FAILED');
}
