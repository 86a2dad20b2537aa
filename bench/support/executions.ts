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
  /** When the client first saw a final status (the event stream's end, or a poll). */
  observedFinalAt: number;
  /** The final GET of the execution (server-side start_date, finish_date, action_executions). */
  execution: any;
}

/**
 * Starts an execution of the pipeline at HEAD and waits for its end: with `pollMs`, by polling the
 * execution (a poll interval adds up to that much to the observed time); without, through the
 * execution's event stream, as the web UI follows a run (its end arrives as it is written). `afterAccept`
 * runs right after the POST's answer (and before polling or the stream begins, so that neither loads the
 * server during what it measures).
 */
export async function runAndWait(
  server: GantryServer,
  pipelinePath: string,
  options: { pollMs?: number; timeoutMs?: number; afterAccept?: (executionId: number) => Promise<void> },
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
  if (options.pollMs === undefined) {
    await streamEnd(server, `${pipelinePath}/executions/${id}/events`, options.timeoutMs ?? 300_000);
    const observedFinalAt = Date.now();
    const execution = expectStatus(
      await server.request('GET', `${pipelinePath}/executions/${id}`),
      200,
      'read execution',
    );
    if (!FINAL.has(execution.status))
      throw new Error(`execution ${id} stream ended at status ${execution.status}`);
    return { id, postedAt, acceptedAt, observedFinalAt, execution };
  }
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

/** Reads a Server-Sent Events stream until its `end` event. */
async function streamEnd(server: GantryServer, url: string, timeoutMs: number): Promise<void> {
  const res = await fetch(server.baseUrl + url, {
    headers: { authorization: `Bearer ${server.token}`, accept: 'text/event-stream' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200 || res.body === null) throw new Error(`${url}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of res.body) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    // Leaving the loop cancels the stream (and closes the connection).
    if (/(^|\n)event: end\n/.test(text)) return;
    // Only the tail can still hold a partial "event: end" line.
    if (text.length > 4096) text = text.slice(-64);
  }
  throw new Error(`${url}: the stream closed without an end event`);
}
