/**
 * The lifecycles of executions and action executions: their statuses and the one table per lifecycle
 * that says which moves are allowed. The store's `transition()` refuses any move these tables do not
 * list, so a status rule lives here and nowhere else.
 */

/**
 * Execution lifecycle.
 * - ENQUEUED: accepted and persisted, waiting for a free slot (or for delay_until).
 * - INPROGRESS: its actions are running.
 * - TERMINATING: a cancel was asked; containers are being stopped.
 * - SUCCESSFUL / FAILED / TERMINATED: final (FAILED and TERMINATED can be retried).
 * - SKIPPED: final; it never started because a newer run of its pipeline was queued
 *   (no_skip_to_most_recent off, Buddy's default).
 * - WAITING_FOR_APPLY: it reached a WAIT_FOR_APPLY gate and holds no runner while it waits. APPLY puts
 *   it back in the queue (ENQUEUED) to go on from the action after the gate on whichever runner is
 *   free; CANCEL ends it TERMINATED.
 * - INITIAL, NOT_EXECUTED, WAITING_FOR_VARIABLES: Buddy's statuses Gantry presents but does not produce yet.
 */
export type ExecutionStatus =
  | 'INITIAL'
  | 'ENQUEUED'
  | 'INPROGRESS'
  | 'TERMINATING'
  | 'SUCCESSFUL'
  | 'FAILED'
  | 'TERMINATED'
  | 'SKIPPED'
  | 'NOT_EXECUTED'
  | 'WAITING_FOR_APPLY'
  | 'WAITING_FOR_VARIABLES';

/**
 * Action execution lifecycle.
 * - ENQUEUED: waits for its turn in the execution (INITIAL is Buddy's spelling of the same).
 * - INPROGRESS: its container (or build, or push) runs, retries included.
 * - SUCCESSFUL / FAILED / TERMINATED: it ran and ended so.
 * - SKIPPED: its conditions, trigger time or actions_to_run left it out.
 * - NOT_EXECUTED: the execution ended before its turn.
 * - WAITING_FOR_APPLY: a WAIT_FOR_APPLY gate the run reached; SUCCESSFUL once approved (APPLY),
 *   TERMINATED when the run is cancelled instead.
 */
export type ActionExecutionStatus =
  | 'INITIAL'
  | 'ENQUEUED'
  | 'INPROGRESS'
  | 'SUCCESSFUL'
  | 'FAILED'
  | 'TERMINATED'
  | 'SKIPPED'
  | 'NOT_EXECUTED'
  | 'WAITING_FOR_APPLY';

export const FINAL_EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'SUCCESSFUL',
  'FAILED',
  'TERMINATED',
  'SKIPPED',
  'NOT_EXECUTED',
];

/** Executions that hold or wait for a slot, or wait for an approval: not ended, so their pipeline cannot go. */
export const ACTIVE_EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'ENQUEUED',
  'INPROGRESS',
  'TERMINATING',
  'WAITING_FOR_APPLY',
];

/**
 * Executions that occupy their pipeline: a pipeline without concurrent runs starts no other run while
 * one of these exists. A run waiting for approval counts: the run after the gate goes on with the
 * pipeline filesystem as the actions before the gate left it.
 */
export const PIPELINE_BUSY_STATUSES: readonly ExecutionStatus[] = [
  'INPROGRESS',
  'TERMINATING',
  'WAITING_FOR_APPLY',
];

const EXECUTION_TRANSITIONS: Record<ExecutionStatus, readonly ExecutionStatus[]> = {
  INITIAL: ['ENQUEUED'],
  // FAILED: the pipeline vanished or the runner crashed before the first write; TERMINATED: cancelled in the queue.
  // SKIPPED: a newer run of the pipeline was queued (no_skip_to_most_recent off).
  ENQUEUED: ['INPROGRESS', 'TERMINATED', 'FAILED', 'SKIPPED'],
  // WAITING_FOR_APPLY: the run reached an approval gate and gave its runner back.
  INPROGRESS: ['SUCCESSFUL', 'FAILED', 'TERMINATING', 'TERMINATED', 'WAITING_FOR_APPLY'],
  TERMINATING: ['TERMINATED', 'FAILED'],
  SUCCESSFUL: [],
  SKIPPED: [],
  // RETRY moves a failed or terminated execution back to the queue.
  FAILED: ['ENQUEUED'],
  TERMINATED: ['ENQUEUED'],
  NOT_EXECUTED: [],
  // APPLY queues it again (any free runner goes on after the gate); CANCEL ends it.
  WAITING_FOR_APPLY: ['ENQUEUED', 'TERMINATED'],
  WAITING_FOR_VARIABLES: ['INPROGRESS', 'TERMINATED'],
};

const ACTION_EXECUTION_TRANSITIONS: Record<ActionExecutionStatus, readonly ActionExecutionStatus[]> = {
  INITIAL: ['ENQUEUED', 'INPROGRESS', 'SKIPPED', 'NOT_EXECUTED', 'WAITING_FOR_APPLY'],
  ENQUEUED: ['INPROGRESS', 'SKIPPED', 'NOT_EXECUTED', 'WAITING_FOR_APPLY'],
  // TERMINATED also ends an action whose run was cut short by a restart while a cancel was pending.
  INPROGRESS: ['SUCCESSFUL', 'FAILED', 'TERMINATED'],
  // RETRY re-queues every action that did not succeed, and a successful build whose image was pruned.
  SUCCESSFUL: ['ENQUEUED'],
  FAILED: ['ENQUEUED'],
  TERMINATED: ['ENQUEUED'],
  SKIPPED: ['ENQUEUED'],
  NOT_EXECUTED: ['ENQUEUED'],
  // Approved, or the run was cancelled (or superseded) while it waited.
  WAITING_FOR_APPLY: ['SUCCESSFUL', 'TERMINATED'],
};

export const EXECUTION_STATUSES = Object.keys(EXECUTION_TRANSITIONS) as ExecutionStatus[];
export const ACTION_EXECUTION_STATUSES = Object.keys(ACTION_EXECUTION_TRANSITIONS) as ActionExecutionStatus[];

export function isFinalExecutionStatus(status: string): boolean {
  return (FINAL_EXECUTION_STATUSES as readonly string[]).includes(status);
}

/** The one place that decides whether an execution may move from one status to another. */
export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return EXECUTION_TRANSITIONS[from].includes(to);
}

/** The one place that decides whether an action execution may move from one status to another. */
export function canTransitionAction(from: ActionExecutionStatus, to: ActionExecutionStatus): boolean {
  return ACTION_EXECUTION_TRANSITIONS[from].includes(to);
}

/** Every status an action execution may reach `to` from. */
export function actionStatusesLeadingTo(to: ActionExecutionStatus): ActionExecutionStatus[] {
  return ACTION_EXECUTION_STATUSES.filter((from) => canTransitionAction(from, to));
}

/** A move the tables do not allow: a bug in the caller, never a user error. */
export class IllegalTransitionError extends Error {}

export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Queue rank: larger leaves the queue first. */
export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}
