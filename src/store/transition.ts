import type { Transaction } from 'kysely';
import { notifyExecutionChanged } from './change-feed.ts';
import {
  PIPELINE_BUSY_STATUSES,
  actionStatusesLeadingTo,
  canTransition,
  canTransitionAction,
  IllegalTransitionError,
  isFinalExecutionStatus,
  type ActionExecutionStatus,
  type ExecutionStatus,
} from '../domain/status.ts';
import type { Db } from './database.ts';
import { isPostgres } from './dialect.ts';
import type { ActionExecutionsTable, Database, ExecutionRow, ExecutionsTable } from './schema.ts';
import { now } from './time.ts';

export type ExecutionFields = Partial<Omit<ExecutionsTable, 'id' | 'status' | 'pipeline_id'>>;
export type ActionExecutionFields = Partial<Omit<ActionExecutionsTable, 'id' | 'execution_id' | 'status'>>;

/** Moves the execution itself: only from one of `from`, to `to`; both checked against the lifecycle table. */
export interface ExecutionMove {
  from: readonly ExecutionStatus[];
  to: ExecutionStatus;
  fields?: ExecutionFields;
}

/**
 * Moves action executions of the execution to `to`: the ones named in `ids` (all of them when absent)
 * that are in one of `from` (default: every status the table lets reach `to`). Others stay as they are.
 */
export interface ActionMove {
  ids?: readonly string[];
  from?: readonly ActionExecutionStatus[];
  to: ActionExecutionStatus;
  fields?: ActionExecutionFields;
}

export interface TransitionChange {
  execution?: ExecutionMove;
  actions?: readonly ActionMove[];
}

/** What a transition changed, handed to hooks inside its transaction. */
export interface TransitionEvent {
  /** The execution after the change. */
  execution: ExecutionRow;
  /** Set when the execution's own status moved. */
  executionMove: { from: ExecutionStatus; to: ExecutionStatus } | null;
  actions: { id: string; actionId: number; from: ActionExecutionStatus; to: ActionExecutionStatus }[];
}

/**
 * Runs inside the transition's transaction, after its writes: whatever it writes (an outbox row for a
 * webhook, say) commits or rolls back with the status change.
 */
export type TransitionHook = (trx: Transaction<Database>, event: TransitionEvent) => Promise<void>;

/** Statuses a pipeline shows as its last execution's: the run in progress or waiting for an approval, then its end. */
function showsOnPipeline(status: ExecutionStatus): boolean {
  return status === 'INPROGRESS' || status === 'WAITING_FOR_APPLY' || isFinalExecutionStatus(status);
}

/** Action results an action shows as its last status. */
const ACTION_RESULTS = new Set<ActionExecutionStatus>(['SUCCESSFUL', 'FAILED', 'TERMINATED']);

function checkMoves(change: TransitionChange): void {
  const e = change.execution;
  if (e) {
    for (const from of e.from)
      if (!canTransition(from, e.to)) throw new IllegalTransitionError(`execution ${from} → ${e.to}`);
  }
  for (const a of change.actions ?? []) {
    for (const from of a.from ?? [])
      if (!canTransitionAction(from, a.to))
        throw new IllegalTransitionError(`action execution ${from} → ${a.to}`);
  }
}

/**
 * The one way an execution's or its action executions' status changes. In ONE transaction: moves the
 * execution (only if it is still in one of `from`; otherwise nothing is written and the result is
 * undefined, because another writer won), moves the named action executions, records an event row per
 * move, shows the status on the pipeline (unless a later run of it has started) and runs the hooks.
 * A move the lifecycle tables do not allow throws IllegalTransitionError before anything is written.
 */
export async function transition(
  db: Db,
  executionId: number,
  change: TransitionChange,
  hooks: readonly TransitionHook[] = [],
): Promise<ExecutionRow | undefined> {
  checkMoves(change);
  const postgres = isPostgres(db);
  return db.transaction().execute(async (trx) => {
    const at = now();
    let execution: ExecutionRow | undefined;
    let executionMove: TransitionEvent['executionMove'] = null;
    if (change.execution) {
      const { from, to, fields } = change.execution;
      let read = trx
        .selectFrom('executions')
        .select(['status', 'pipeline_id'])
        .where('id', '=', executionId)
        .where('status', 'in', from);
      // PostgreSQL, where several servers share the queue: the row stays locked until commit, and a row
      // another server is moving right now counts as already moved (it won) instead of being waited for.
      if (postgres) read = read.forUpdate().skipLocked();
      const before = await read.executeTakeFirst();
      if (!before) return undefined;
      if (
        before.status === 'ENQUEUED' &&
        to === 'INPROGRESS' &&
        !(await mayStart(trx, before.pipeline_id, executionId))
      )
        return undefined;
      execution = await trx
        .updateTable('executions')
        .set({ ...fields, status: to })
        .where('id', '=', executionId)
        .where('status', '=', before.status)
        .returningAll()
        .executeTakeFirst();
      if (!execution) return undefined;
      executionMove = { from: before.status, to };
      await trx
        .insertInto('execution_events')
        .values({
          execution_id: executionId,
          type: 'execution',
          payload: JSON.stringify({ status: to }),
          create_date: at,
        })
        .execute();
    } else {
      execution = await trx
        .selectFrom('executions')
        .selectAll()
        .where('id', '=', executionId)
        .executeTakeFirst();
      if (!execution) return undefined;
    }

    const moved: TransitionEvent['actions'] = [];
    for (const move of change.actions ?? []) {
      if (move.ids && move.ids.length === 0) continue;
      let q = trx
        .updateTable('action_executions')
        .set({ ...move.fields, status: move.to })
        .where('execution_id', '=', executionId)
        .where('status', 'in', move.from ?? actionStatusesLeadingTo(move.to));
      if (move.ids) q = q.where('id', 'in', move.ids);
      // The previous status is not returned by UPDATE; read the candidates first, in the same transaction.
      let candidates = trx
        .selectFrom('action_executions')
        .select(['id', 'action_id', 'status'])
        .where('execution_id', '=', executionId)
        .where('status', 'in', move.from ?? actionStatusesLeadingTo(move.to));
      if (move.ids) candidates = candidates.where('id', 'in', move.ids);
      const rows = await candidates.orderBy('position').execute();
      if (rows.length === 0) continue;
      await q.execute();
      for (const r of rows) {
        moved.push({ id: r.id, actionId: r.action_id, from: r.status, to: move.to });
        await trx
          .insertInto('execution_events')
          .values({
            execution_id: executionId,
            type: 'action_execution',
            payload: JSON.stringify({ action_execution_id: r.id, status: move.to }),
            create_date: at,
          })
          .execute();
      }
    }

    // An execution cancelled in the queue never ran: the pipeline keeps showing the run that did.
    if (executionMove && showsOnPipeline(executionMove.to) && execution.start_date !== null)
      await showOnPipeline(trx, execution);
    const ended = moved.filter((m) => ACTION_RESULTS.has(m.to));
    for (const status of new Set(ended.map((m) => m.to))) {
      const ids = ended.filter((m) => m.to === status).map((m) => m.actionId);
      await trx
        .updateTable('actions')
        .set({ last_execution_status: status })
        .where('id', 'in', ids)
        .execute();
    }
    for (const hook of hooks) await hook(trx, { execution, executionMove, actions: moved });
    // Other server processes on the same PostgreSQL learn of the change when it commits (live streams, queue).
    await notifyExecutionChanged(trx, executionId);
    return execution;
  });
}

/**
 * Whether a queued execution may start now as far as its pipeline is concerned: a pipeline without
 * concurrent runs starts one only while none of its others runs. The engine already picks by this rule;
 * this check makes it hold between server processes too: the pipeline row is locked (PostgreSQL) so that
 * two servers starting runs of one pipeline take turns, and the second sees the first's run.
 */
async function mayStart(
  trx: Transaction<Database>,
  pipelineId: number,
  executionId: number,
): Promise<boolean> {
  let read = trx.selectFrom('pipelines').select('concurrent_pipeline_runs').where('id', '=', pipelineId);
  if (isPostgres(trx)) read = read.forUpdate();
  const pipeline = await read.executeTakeFirst();
  if (!pipeline || pipeline.concurrent_pipeline_runs) return true;
  const other = await trx
    .selectFrom('executions')
    .select('id')
    .where('pipeline_id', '=', pipelineId)
    .where('id', '!=', executionId)
    .where('status', 'in', PIPELINE_BUSY_STATUSES)
    .executeTakeFirst();
  return other === undefined;
}

/**
 * Shows the execution's status and revision on its pipeline, unless a later execution of the pipeline
 * has already started: with concurrent runs an older one finishing last must not hide the newest run.
 */
async function showOnPipeline(trx: Transaction<Database>, e: ExecutionRow): Promise<void> {
  await trx
    .updateTable('pipelines')
    .set({ last_execution_status: e.status, last_execution_revision: e.revision })
    .where('id', '=', e.pipeline_id)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('executions')
            .select('executions.id')
            .where('executions.pipeline_id', '=', e.pipeline_id)
            .where('executions.id', '>', e.id)
            .where('executions.start_date', 'is not', null),
        ),
      ),
    )
    .execute();
}
