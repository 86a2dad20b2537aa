import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { waitForExecution, type Harness } from './harness.ts';
import { instanceLabel } from './instance-label.ts';

export { instanceLabel };

function dockerPs(labels: string[], all: boolean): string[] {
  const filters = labels.flatMap((l) => ['--filter', `label=${l}`]);
  return execFileSync('docker', ['ps', '-q', ...(all ? ['-a'] : []), ...filters], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Ids of containers (running or not) carrying every one of `labels` ("key=value"), straight from the Docker CLI. */
export function containersWith(...labels: string[]): string[] {
  return dockerPs(labels, true);
}

/** Ids of running containers carrying every one of `labels`. */
export function runningContainersWith(...labels: string[]): string[] {
  return dockerPs(labels, false);
}

/** Force-removes whatever a test left behind under `labels`, returning how many there were. */
export function removeContainersWith(...labels: string[]): number {
  const ids = containersWith(...labels);
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
  return ids.length;
}

/** Force-removes the containers a Gantry on `dataDir` left (none when it never started there). */
export function removeInstanceContainers(dataDir: string): number {
  if (!existsSync(path.join(dataDir, 'instance-id'))) return 0;
  return removeContainersWith(`gantry.instance=${instanceLabel(dataDir)}`);
}

/** Labels that pick out the containers of one execution of one Gantry (execution ids restart in each data dir). */
export function executionLabels(dataDir: string, executionId: number): string[] {
  return [`gantry.instance=${instanceLabel(dataDir)}`, `gantry.execution=${executionId}`];
}

/** POSTs a run request; returns the response and, when accepted, the execution's API path. */
export async function runPipeline(
  h: Harness,
  pipelinePath: string,
  body: Record<string, unknown> = {},
): Promise<{ status: number; body: any; path: string }> {
  const res = await h.request('POST', `${pipelinePath}/executions`, body);
  return { status: res.status, body: res.body, path: `${pipelinePath}/executions/${res.body?.id}` };
}

/** Runs the pipeline, fails the test unless the request is accepted, and waits for the final status. */
export async function runToEnd(
  h: Harness,
  pipelinePath: string,
  body: Record<string, unknown> = {},
  timeoutMs = 60_000,
): Promise<{ execution: any; path: string }> {
  const started = await runPipeline(h, pipelinePath, body);
  if (started.status !== 200)
    throw new Error(`run refused: ${started.status} ${JSON.stringify(started.body)}`);
  return { execution: await waitForExecution(h, started.path, timeoutMs), path: started.path };
}

/**
 * Polls `probe` every 100 ms until it returns a truthy value; throws with `what` (a function: evaluated
 * then, e.g. to show a process's output so far) after `timeoutMs`. The default is generous: the suite
 * runs files side by side on a shared machine, and a longer limit only makes a real failure slower.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => Promise<T> | T,
  timeoutMs = 120_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The action execution of `execution` whose action has `name`. */
export function actionNamed(execution: any, name: string): any {
  const found = execution.action_executions.find((a: any) => a.action.name === name);
  if (!found)
    throw new Error(
      `no action "${name}" in execution ${execution.id}: ${execution.action_executions.map((a: any) => a.action.name).join(', ')}`,
    );
  return found;
}

/** Total executions of a pipeline, from the list endpoint. */
export async function executionCount(h: Harness, pipelinePath: string): Promise<number> {
  const res = await h.request('GET', `${pipelinePath}/executions`);
  if (res.status !== 200) throw new Error(`list executions: ${res.status}`);
  return res.body.total_element_count as number;
}

/** Removes temporary directories, ignoring ones already gone. */
export function removeDirs(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
