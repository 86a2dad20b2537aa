/**
 * The one map of execution and action statuses: how each is labelled, styled, and whether it is still
 * going. Badge colours are chosen for WCAG AA (at least 4.5:1 between text and background).
 */
export interface StatusInfo {
  label: string;
  /** CSS class of the badge (see app.css: .s-ok, .s-fail, ...). */
  tone: 'ok' | 'fail' | 'run' | 'queue' | 'stop' | 'wait' | 'none';
  active: boolean;
}

const STATUSES: Record<string, StatusInfo> = {
  SUCCESSFUL: { label: 'Successful', tone: 'ok', active: false },
  FAILED: { label: 'Failed', tone: 'fail', active: false },
  INPROGRESS: { label: 'In progress', tone: 'run', active: true },
  ENQUEUED: { label: 'Enqueued', tone: 'queue', active: true },
  INITIAL: { label: 'Initial', tone: 'queue', active: true },
  TERMINATING: { label: 'Terminating', tone: 'stop', active: true },
  TERMINATED: { label: 'Terminated', tone: 'stop', active: false },
  WAITING_FOR_APPLY: { label: 'Waiting for approval', tone: 'wait', active: true },
  WAITING_FOR_VARIABLES: { label: 'Waiting for variables', tone: 'wait', active: true },
  NOT_EXECUTED: { label: 'Not executed', tone: 'none', active: false },
  SKIPPED: { label: 'Skipped', tone: 'none', active: false },
};

export function statusInfo(status: string | null | undefined): StatusInfo {
  if (!status) return { label: 'Never run', tone: 'none', active: false };
  return STATUSES[status] ?? { label: status.replace(/_/g, ' ').toLowerCase(), tone: 'none', active: false };
}

export function isActive(status: string | null | undefined): boolean {
  return statusInfo(status).active;
}

/** A pipeline's status badge: INITIAL there means it never ran (not a run waiting to start). */
export function pipelineStatus(p: { last_execution_status?: string | null }): string | null {
  const s = p.last_execution_status ?? null;
  return s === 'INITIAL' ? null : s;
}
