/**
 * Execution lifecycle.
 * - ENQUEUED: accepted and persisted, waiting for a free slot (or for delay_until).
 * - INPROGRESS: its actions are running.
 * - TERMINATING: a cancel was asked; containers are being stopped.
 * - SUCCESSFUL / FAILED / TERMINATED: final.
 */
export type ExecutionStatus =
  | 'INITIAL'
  | 'ENQUEUED'
  | 'INPROGRESS'
  | 'TERMINATING'
  | 'SUCCESSFUL'
  | 'FAILED'
  | 'TERMINATED'
  | 'NOT_EXECUTED'
  | 'WAITING_FOR_APPLY'
  | 'WAITING_FOR_VARIABLES';

/** Action execution lifecycle: INITIAL → ENQUEUED → INPROGRESS → SUCCESSFUL | FAILED | TERMINATED, or SKIPPED. */
export type ActionExecutionStatus =
  'INITIAL' | 'ENQUEUED' | 'INPROGRESS' | 'SUCCESSFUL' | 'FAILED' | 'TERMINATED' | 'SKIPPED' | 'NOT_EXECUTED';

export const FINAL_EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'SUCCESSFUL',
  'FAILED',
  'TERMINATED',
  'NOT_EXECUTED',
];

const EXECUTION_TRANSITIONS: Record<ExecutionStatus, readonly ExecutionStatus[]> = {
  INITIAL: ['ENQUEUED'],
  ENQUEUED: ['INPROGRESS', 'TERMINATED', 'FAILED'],
  INPROGRESS: ['SUCCESSFUL', 'FAILED', 'TERMINATING', 'TERMINATED'],
  TERMINATING: ['TERMINATED', 'FAILED'],
  // RETRY moves a finished execution back to the queue.
  SUCCESSFUL: [],
  FAILED: ['ENQUEUED'],
  TERMINATED: ['ENQUEUED'],
  NOT_EXECUTED: [],
  WAITING_FOR_APPLY: ['INPROGRESS', 'TERMINATED'],
  WAITING_FOR_VARIABLES: ['INPROGRESS', 'TERMINATED'],
};

export function isFinalExecutionStatus(status: string): boolean {
  return (FINAL_EXECUTION_STATUSES as readonly string[]).includes(status);
}

/** The one place that decides whether an execution may move from one status to another. */
export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return EXECUTION_TRANSITIONS[from].includes(to);
}

export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Queue rank: larger leaves the queue first. */
export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}
