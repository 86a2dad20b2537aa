/** Why a running execution was stopped, passed as its AbortController's reason. */
export const STOP_REASONS = {
  cancelled: 'cancelled',
  shutdown: 'the server shut down while the execution ran',
  stoppedAgain: 'the server was told to stop again while it waited for running executions to finish',
} as const;

/** The reason of executions still running when a graceful stop's drain timeout ran out. */
export function drainTimeoutReason(seconds: number): string {
  return `the server shut down: the execution did not finish within the ${seconds} s drain timeout`;
}

/**
 * The message an execution and its actions end with when `signal` stopped them: a user's cancel and a
 * server shutdown both end TERMINATED, but only one of them was asked for by someone.
 */
export function stopReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : STOP_REASONS.cancelled;
}
