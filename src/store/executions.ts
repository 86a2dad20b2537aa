import {
  ACTIVE_EXECUTION_STATUSES as ACTIVE,
  PIPELINE_BUSY_STATUSES,
  type ExecutionStatus,
} from '../domain/status.ts';
import type { ExpressionBuilder } from 'kysely';
import type { Db } from './database.ts';
import type {
  ActionExecutionRow,
  Database,
  ActionExecutionsTable,
  ExecutionEventRow,
  ExecutionRow,
  ExecutionsTable,
} from './schema.ts';
import { notifyExecutionChanged } from './change-feed.ts';
import { reusableQuery } from './reusable-query.ts';
import { now } from './time.ts';

export type NewExecution = Omit<
  ExecutionsTable,
  | 'id'
  | 'status'
  | 'start_date'
  | 'finish_date'
  | 'error_message'
  | 'enqueue_date'
  | 'worker'
  | 'worker_session'
  | 'claim_date'
  | 'wait_reason'
  | 'resume_pending'
>;
export type NewActionExecution = Omit<
  ActionExecutionsTable,
  | 'execution_id'
  | 'log_lines'
  | 'terminator_id'
  | 'termination_date'
  | 'approver_id'
  | 'approval_date'
  | 'container_id'
  | 'passed_variables'
  | 'outputted_variables'
>;

/** Persists an accepted execution and its action executions in one transaction: it is ENQUEUED or it does not exist. */
export async function createExecution(
  db: Db,
  e: NewExecution,
  actions: NewActionExecution[],
): Promise<ExecutionRow> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('executions')
      .values({
        ...e,
        status: 'ENQUEUED',
        enqueue_date: now(),
        start_date: null,
        finish_date: null,
        error_message: null,
        resume_pending: 0,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    for (const a of actions) {
      await trx
        .insertInto('action_executions')
        .values({
          ...a,
          execution_id: row.id,
          log_lines: 0,
          container_id: null,
          terminator_id: null,
          termination_date: null,
          approver_id: null,
          approval_date: null,
          passed_variables: '[]',
          outputted_variables: '[]',
        })
        .execute();
    }
    await trx
      .insertInto('execution_events')
      .values({
        execution_id: row.id,
        type: 'execution',
        payload: JSON.stringify({ status: 'ENQUEUED' }),
        create_date: now(),
      })
      .execute();
    await notifyExecutionChanged(trx, row.id);
    return row;
  });
}

export async function getExecution(db: Db, id: number): Promise<ExecutionRow | undefined> {
  return db.selectFrom('executions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listExecutions(
  db: Db,
  pipelineId: number,
  limit: number,
  offset: number,
): Promise<{ rows: ExecutionRow[]; total: number }> {
  const rows = await db
    .selectFrom('executions')
    .selectAll()
    .where('pipeline_id', '=', pipelineId)
    .orderBy('id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  const count = await db
    .selectFrom('executions')
    .where('pipeline_id', '=', pipelineId)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}

export async function listActionExecutions(db: Db, executionIds: number[]): Promise<ActionExecutionRow[]> {
  if (executionIds.length === 0) return [];
  return db
    .selectFrom('action_executions')
    .selectAll()
    .where('execution_id', 'in', executionIds)
    .orderBy('position')
    .execute();
}

export async function getActionExecution(
  db: Db,
  executionId: number,
  id: string,
): Promise<ActionExecutionRow | undefined> {
  return db
    .selectFrom('action_executions')
    .selectAll()
    .where('execution_id', '=', executionId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function hasActiveExecutions(
  db: Db,
  scope: { workspaceId?: number; projectId?: number; pipelineId?: number },
): Promise<boolean> {
  let q = db
    .selectFrom('executions')
    .innerJoin('pipelines', 'pipelines.id', 'executions.pipeline_id')
    .select('executions.id');
  if (scope.pipelineId !== undefined) q = q.where('executions.pipeline_id', '=', scope.pipelineId);
  if (scope.projectId !== undefined) q = q.where('pipelines.project_id', '=', scope.projectId);
  if (scope.workspaceId !== undefined) {
    q = q
      .innerJoin('projects', 'projects.id', 'pipelines.project_id')
      .where('projects.workspace_id', '=', scope.workspaceId);
  }
  return (await q.where('executions.status', 'in', ACTIVE).limit(1).executeTakeFirst()) !== undefined;
}

// The scheduler's queries run on every accepted and every finished run (and its safety poll): each is
// built and compiled once (building one cost as much as running it).
const runnable = reusableQuery(2, (db, at: string, limit: number) =>
  db
    .selectFrom('executions')
    .selectAll()
    .where('status', '=', 'ENQUEUED')
    .where((eb) => eb.or([eb('delay_until', 'is', null), eb('delay_until', '<=', at)]))
    .orderBy('priority_rank', 'desc')
    .orderBy('id', 'asc')
    .limit(limit),
);

/** Executions a scheduler may start now, best first: priority, then the order they were accepted. */
export async function listRunnable(db: Db, limit: number): Promise<ExecutionRow[]> {
  return runnable(db, now(), limit);
}

export async function listByStatus(db: Db, statuses: ExecutionStatus[]): Promise<ExecutionRow[]> {
  return db.selectFrom('executions').selectAll().where('status', 'in', statuses).orderBy('id').execute();
}

const earliestDelay = reusableQuery(1, (db, at: string) =>
  db
    .selectFrom('executions')
    .select((eb) => eb.fn.min('delay_until').as('at'))
    .where('status', '=', 'ENQUEUED')
    .where('delay_until', '>', at),
);

/** The earliest delay_until among queued executions, so the scheduler knows when to wake. */
export async function nextDelayedAt(db: Db): Promise<string | null> {
  const [row] = await earliestDelay(db, now());
  return (row?.at as string | null | undefined) ?? null;
}

const busyPipelines = reusableQuery(0, (db) =>
  db.selectFrom('executions').select('pipeline_id').where('status', 'in', PIPELINE_BUSY_STATUSES),
);

/** Pipelines a run occupies (running, stopping, or waiting for an approval). */
export async function runningPipelineIds(db: Db): Promise<Set<number>> {
  const rows = await busyPipelines(db);
  return new Set(rows.map((r) => r.pipeline_id));
}

export async function updateExecutionFields(
  db: Db,
  id: number,
  fields: Partial<Omit<ExecutionsTable, 'id' | 'status'>>,
): Promise<void> {
  await db.updateTable('executions').set(fields).where('id', '=', id).execute();
}

/** Updates fields of an action execution that are not its status (container id, log line count). */
export async function updateActionExecutionFields(
  db: Db,
  id: string,
  fields: Partial<Omit<ActionExecutionsTable, 'id' | 'execution_id' | 'status'>>,
): Promise<void> {
  await db.updateTable('action_executions').set(fields).where('id', '=', id).execute();
}

export async function setLogLines(db: Db, id: string, lines: number): Promise<void> {
  await db.updateTable('action_executions').set({ log_lines: lines }).where('id', '=', id).execute();
}

export async function eventsSince(
  db: Db,
  executionId: number,
  afterId: number,
): Promise<ExecutionEventRow[]> {
  return db
    .selectFrom('execution_events')
    .selectAll()
    .where('execution_id', '=', executionId)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(1000)
    .execute();
}

/** The revision of the pipeline's latest successful execution, the default changeset base. */
export async function lastSuccessfulRevision(
  db: Db,
  pipelineId: number,
  beforeId?: number,
): Promise<string | null> {
  let q = db
    .selectFrom('executions')
    .select('revision')
    .where('pipeline_id', '=', pipelineId)
    .where('status', '=', 'SUCCESSFUL');
  if (beforeId !== undefined) q = q.where('id', '<', beforeId);
  const row = await q.orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row?.revision ?? null;
}

/** Status of the pipeline's execution before `executionId` (for ON_BACK_TO_SUCCESS). */
export async function previousExecutionStatus(
  db: Db,
  pipelineId: number,
  executionId: number,
): Promise<ExecutionStatus | null> {
  const row = await db
    .selectFrom('executions')
    .select('status')
    .where('pipeline_id', '=', pipelineId)
    .where('id', '<', executionId)
    .where('status', 'in', ['SUCCESSFUL', 'FAILED', 'TERMINATED'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.status ?? null;
}

export async function hasActiveExecutionsInEnvironment(db: Db, environmentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('executions')
    .select('id')
    .where('environment_id', '=', environmentId)
    .where('status', 'in', ACTIVE)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Status events of every execution in a workspace after `afterId`, with where each execution lives. */
export async function workspaceEventsSince(
  db: Db,
  workspaceId: number,
  afterId: number,
): Promise<(ExecutionEventRow & { pipeline_id: number; project_name: string })[]> {
  return db
    .selectFrom('execution_events')
    .innerJoin('executions', 'executions.id', 'execution_events.execution_id')
    .innerJoin('pipelines', 'pipelines.id', 'executions.pipeline_id')
    .innerJoin('projects', 'projects.id', 'pipelines.project_id')
    .selectAll('execution_events')
    .select(['executions.pipeline_id', 'projects.name as project_name'])
    .where('projects.workspace_id', '=', workspaceId)
    .where('execution_events.id', '>', afterId)
    .orderBy('execution_events.id')
    .limit(1000)
    .execute();
}

/** The id of the newest execution event (0 when there is none): where a fresh workspace stream starts. */
export async function latestEventId(db: Db): Promise<number> {
  const row = await db
    .selectFrom('execution_events')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

/** An execution counts as active (for superseding) when running, stopping, waiting for an approval, or queued and due. */
function activeAt(at: string) {
  return (eb: ExpressionBuilder<Database, 'executions'>) =>
    eb.or([
      eb('status', 'in', ['INPROGRESS', 'TERMINATING', 'WAITING_FOR_APPLY']),
      eb.and([
        eb('status', '=', 'ENQUEUED'),
        eb.or([eb('delay_until', 'is', null), eb('delay_until', '<=', at)]),
      ]),
    ]);
}

/** Pipelines with more than one active execution (compiled once: the scheduler asks on every tick). */
const crowdedPipelines = reusableQuery(1, (db, at: string) =>
  db
    .selectFrom('executions')
    .select('pipeline_id')
    .where(activeAt(at))
    .groupBy('pipeline_id')
    .having((eb) => eb.fn.countAll(), '>', 1),
);

/**
 * Active executions (waiting in the queue, delayed ones excluded, running, or waiting for an approval) of pipelines that have
 * more than one: the only ones a newer run can supersede. One grouped query answers the usual case
 * (no pipeline has two) without reading any execution.
 */
export async function crowdedPipelineRuns(db: Db): Promise<ExecutionRow[]> {
  const at = now();
  const crowded = await crowdedPipelines(db, at);
  if (crowded.length === 0) return [];
  const active = activeAt(at);
  return db
    .selectFrom('executions')
    .selectAll()
    .where(active)
    .where(
      'pipeline_id',
      'in',
      crowded.map((r) => r.pipeline_id),
    )
    .orderBy('id')
    .execute();
}
