/** A queued execution as the scheduler sees it, already sorted best first (priority, then acceptance). */
export interface QueuedExecution {
  id: number;
  pipelineId: number;
  concurrentPipelineRuns: boolean;
}

/**
 * Picks which queued executions start now: at most `freeSlots`, best first, skipping executions of a
 * pipeline that runs one at a time while another of its executions runs or was just picked. Pure, so
 * the ordering rules are unit-tested without Docker.
 */
export function pickExecutions(
  queue: readonly QueuedExecution[],
  busyPipelines: ReadonlySet<number>,
  freeSlots: number,
): QueuedExecution[] {
  const picked: QueuedExecution[] = [];
  const busy = new Set(busyPipelines);
  for (const e of queue) {
    if (picked.length >= freeSlots) break;
    if (!e.concurrentPipelineRuns && busy.has(e.pipelineId)) continue;
    picked.push(e);
    busy.add(e.pipelineId);
  }
  return picked;
}
