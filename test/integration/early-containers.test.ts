/**
 * The first action's container is made while the run checks its revision out (early-containers.ts), with
 * the real Docker engine. The checkout is held at its start (the runner asks the peer where to fetch from)
 * so that each test sees the container made and not started, then lets the checkout go on, fail, or be
 * cancelled: the container that runs is the one made early, with exactly the environment the action gets
 * otherwise; a cancel or a failed checkout leaves no container and runs nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Workload } from '../../src/engine/runner-peer.ts';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import {
  actionNamed,
  containersWith,
  executionLabels,
  removeDirs,
  runningContainersWith,
  runPipeline,
  waitFor,
} from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);

/** A checkout the runner started, held before it fetches: `go` lets it on, `fail` makes git fail. */
interface HeldCheckout {
  work: Workload;
  go(): void;
  fail(): void;
}

let held: ((checkout: HeldCheckout) => void) | null = null;

before(async () => {
  h = await startGantry({ config: { maxConcurrentExecutions: 1 } });
  const peer = h.gantry.engine.peer;
  const source = peer.source.bind(peer);
  // The runner asks for the mirror first thing in its checkout, after the claim: holding the answer holds
  // the checkout while the first container is made.
  peer.source = async (work) => {
    const hold = held;
    if (hold === null) return source(work);
    held = null;
    const mirror = await source(work);
    return new Promise<string>((resolve) =>
      hold({
        work,
        go: () => resolve(mirror),
        fail: () => resolve(path.join(h.dataDir, 'no-such-mirror.git')),
      }),
    );
  };
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
});

/** Holds the next checkout; resolves once the runner reached it. */
function holdNextCheckout(): Promise<HeldCheckout> {
  return new Promise((resolve) => {
    held = resolve;
  });
}

/**
 * A run of a new one-action pipeline ("marks" touches ran-marker in the work tree), held at its checkout
 * once its early container exists.
 */
async function runHeldWithEarlyContainer(): Promise<{
  pipelineId: number;
  run: Awaited<ReturnType<typeof runPipeline>>;
  hold: HeldCheckout;
}> {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'marks', inline_commands: 'touch ran-marker' });
  const checkout = holdNextCheckout();
  const run = await runPipeline(h, pipelinePath);
  const hold = await checkout;
  await earlyContainer(run.body.id);
  return { pipelineId, run, hold };
}

/** "marks" never ran: left NOT_EXECUTED, no container of the execution left, no marker in the work tree. */
function assertNothingRan(
  e: Awaited<ReturnType<typeof waitForExecution>>,
  executionId: number,
  pipelineId: number,
): void {
  assert.equal(actionNamed(e, 'marks').status, 'NOT_EXECUTED');
  assert.deepEqual(containersWith(...executionLabels(h.dataDir, executionId)), []);
  assert.equal(existsSync(path.join(h.dataDir, 'pipelines', String(pipelineId), 'fs', 'ran-marker')), false);
}

/** The one container of an execution, once it exists: created (made early), not running. */
async function earlyContainer(executionId: number): Promise<string> {
  const labels = executionLabels(h.dataDir, executionId);
  const id = await waitFor('the first container to be made during the checkout', () => {
    const all = containersWith(...labels);
    return all.length === 1 ? all[0] : undefined;
  });
  assert.deepEqual(runningContainersWith(...labels), [], 'made, not started');
  return id;
}

function inspect(id: string): { env: string[]; state: string } {
  const out = execFileSync('docker', ['inspect', '--format', '{{json .Config.Env}} {{.State.Status}}', id], {
    encoding: 'utf8',
  }).trim();
  const cut = out.lastIndexOf(' ');
  return { env: JSON.parse(out.slice(0, cut)) as string[], state: out.slice(cut + 1) };
}

test('the container made during the checkout is the one that runs, with the environment the action gets otherwise', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  const plain = await h.request('POST', '/api/workspaces/ws/variables', {
    key: 'PLAIN',
    value: 'plain value',
  });
  assert.equal(plain.status, 201);
  const secret = await h.request('POST', '/api/workspaces/ws/variables', {
    key: 'SECRET_TOKEN',
    value: 's3cr3t-early',
    encrypted: true,
  });
  assert.equal(secret.status, 201);
  // The same command twice: the first container is made early, the second as every later one is.
  const command = 'env | grep -v ^HOSTNAME= | sort\necho "host $HOSTNAME"\ncat a.txt';
  await addAction(h, pipelinePath, { name: 'first', inline_commands: command });
  await addAction(h, pipelinePath, { name: 'second', inline_commands: command });

  const checkout = holdNextCheckout();
  const run = await runPipeline(h, pipelinePath, {
    variables: [{ key: 'FROM_REQUEST', value: 'given with the run' }],
  });
  assert.equal(run.status, 200);
  const hold = await checkout;
  const id = await earlyContainer(run.body.id);
  const made = inspect(id);
  assert.equal(made.state, 'created');
  assert.ok(made.env.includes('SECRET_TOKEN=s3cr3t-early'), 'the secret in clear, as the action gets it');
  assert.ok(made.env.includes('FROM_REQUEST=given with the run'));
  assert.ok(made.env.includes('PLAIN=plain value'));
  assert.ok(made.env.includes(`BUDDY_EXECUTION_ID=${run.body.id}`));
  assert.ok(made.env.includes(`BUDDY_EXECUTION_REVISION=${repo.shas[0]}`));
  hold.go();

  const e = await waitForExecution(h, run.path);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e));
  const first = await logsOf(h, run.path, actionNamed(e, 'first').action_execution_id);
  const second = await logsOf(h, run.path, actionNamed(e, 'second').action_execution_id);
  // It ran in the container made early (the host name is the container id's start), after the checkout.
  assert.ok(first.includes(`host ${id.slice(0, 12)}`), first.join('\n'));
  assert.equal(first.at(-1), 'a');
  // Every variable the same as in the container made at its turn; the secret masked in both logs.
  const envOf = (lines: string[]): string[] => lines.filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l));
  assert.ok(envOf(first).length > 10);
  assert.deepEqual(envOf(first), envOf(second));
  assert.ok(envOf(first).includes('SECRET_TOKEN=***'), envOf(first).join('\n'));
  // Made from what the action ran with: the same environment, the host name set by Docker aside.
  const ranWith = envOf(first).map((l) => (l === 'SECRET_TOKEN=***' ? 'SECRET_TOKEN=s3cr3t-early' : l));
  // (Values of several lines, the SSH keys Gantry makes, span lines of `env`: the lines above compare them.)
  const madeEnv = made.env.filter((l) => !l.startsWith('HOSTNAME=') && !l.includes('\n'));
  assert.deepEqual(
    ranWith.filter((l) => madeEnv.some((m) => m.split('=')[0] === l.split('=')[0])).sort(),
    [...madeEnv].sort(),
  );
  assert.deepEqual(containersWith(...executionLabels(h.dataDir, run.body.id)), []);
});

test('a cancel between making the container and starting it removes it; nothing runs', async () => {
  const { pipelineId, run, hold } = await runHeldWithEarlyContainer();
  // The cancel waits for the run to end, which waits for the checkout: let it go once the cancel landed.
  const cancelled = h.request('PATCH', run.path, { operation: 'CANCEL' });
  await waitFor(
    'the execution to be terminating',
    async () => (await h.request('GET', run.path)).body.status === 'TERMINATING',
  );
  hold.go();
  assert.equal((await cancelled).status, 200);
  const e = await waitForExecution(h, run.path);
  assert.equal(e.status, 'TERMINATED');
  assertNothingRan(e, run.body.id, pipelineId);
});

test('a failed checkout removes the container made meanwhile; nothing runs', async () => {
  const { pipelineId, run, hold } = await runHeldWithEarlyContainer();
  hold.fail();
  const e = await waitForExecution(h, run.path);
  assert.equal(e.status, 'FAILED');
  assert.match(e.error_message ?? '', /preparing the pipeline filesystem failed/);
  assertNothingRan(e, run.body.id, pipelineId);
});

test('a first action with volume mappings, or a left-out one, is not made early and still runs right', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'left out', disabled: true, inline_commands: 'echo never' });
  await addAction(h, pipelinePath, {
    name: 'maps',
    volume_mappings: ['/:/mapped'],
    inline_commands: 'cat /mapped/a.txt',
  });
  const checkout = holdNextCheckout();
  const since = Math.floor(Date.now() / 1000) - 1;
  const run = await runPipeline(h, pipelinePath);
  const hold = await checkout;
  const released = Date.now();
  hold.go();
  const e = await waitForExecution(h, run.path);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e));
  // The engine's own record: its only container was created after the checkout was let go.
  const created = execFileSync(
    'docker',
    [
      'events',
      '--since',
      String(since),
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'event=create',
      ...executionLabels(h.dataDir, run.body.id).flatMap((l) => ['--filter', `label=${l}`]),
      '--format',
      '{{.TimeNano}}',
    ],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter((l) => l !== '')
    .map((ns) => Number(BigInt(ns) / 1_000_000n));
  assert.equal(created.length, 1);
  assert.ok(created[0]! >= released, `created ${created[0]! - released} ms before the checkout went on`);
  assert.equal(actionNamed(e, 'left out').status, 'SKIPPED');
  assert.deepEqual(await logsOf(h, run.path, actionNamed(e, 'maps').action_execution_id), ['a']);
});
