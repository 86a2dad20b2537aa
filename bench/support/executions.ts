import { setTimeout as sleep } from 'node:timers/promises';
import { expectStatus, type GantryServer } from './gantry-server.ts';

const FINAL = new Set(['SUCCESSFUL', 'FAILED', 'TERMINATED']);

/** One execution as a client saw it, with epoch-millisecond timestamps taken by the benchmark. */
export interface ObservedExecution {
  id: number;
  /** Just before POST .../executions was sent. */
  postedAt: number;
  /** When the POST's answer arrived (the execution is persisted and ENQUEUED). */
  acceptedAt: number;
  /** When polling first saw a final status. */
  observedFinalAt: number;
  /** The final GET of the execution (server-side start_date, finish_date, action_executions). */
  execution: any;
}

/**
 * Starts an execution of the pipeline at HEAD. `afterAccept` runs right after the POST's answer (and
 * before polling begins, so that the poll requests do not load the server during what it measures).
 */
export async function runAndWait(
  server: GantryServer,
  pipelinePath: string,
  options: { pollMs: number; timeoutMs?: number; afterAccept?: (executionId: number) => Promise<void> },
): Promise<ObservedExecution> {
  const postedAt = Date.now();
  const created = expectStatus(
    await server.request('POST', `${pipelinePath}/executions`, {}),
    200,
    'run pipeline',
  );
  const acceptedAt = Date.now();
  const id = created.id as number;
  if (options.afterAccept) await options.afterAccept(id);
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (;;) {
    const res = await server.request('GET', `${pipelinePath}/executions/${id}`);
    if (res.status === 200 && FINAL.has(res.body.status)) {
      return { id, postedAt, acceptedAt, observedFinalAt: Date.now(), execution: res.body };
    }
    if (Date.now() > deadline)
      throw new Error(`execution ${id} did not finish: ${JSON.stringify(res.body).slice(0, 1000)}`);
    await sleep(options.pollMs);
  }
}

/** Epoch milliseconds of an ISO date from the API, NaN when absent. */
export const at = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : Number.NaN);
