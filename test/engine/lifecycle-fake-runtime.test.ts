/**
 * Scheduling and lifecycle through the whole engine (API → queue → runner port → store) with the
 * in-memory FakeRuntime instead of Docker: what the user sees of failures, retries, cancels and the
 * queue. The same behaviours against the real engine are in test/integration/.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeRuntime } from '../../src/runtime/fake/fake-runtime.ts';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  TEST_IMAGE,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import { actionNamed, removeDirs, runPipeline, runToEnd, waitFor } from '../support/runs.ts';

const IMAGE = `${TEST_IMAGE.docker_image_name}:${TEST_IMAGE.docker_image_tag}`;
const fake = new FakeRuntime([IMAGE]);
let h: Harness;
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);

before(async () => {
  h = await startGantry({ runtime: fake, config: { maxConcurrentExecutions: 1 } });
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
});

const statuses = (e: any): Record<string, string> =>
  Object.fromEntries(e.action_executions.map((a: any) => [a.action.name, a.status]));

const createdFor = (pipelineId: number): number =>
  fake.created.filter((c) => c.labels['gantry.pipeline'] === String(pipelineId)).length;

test('a failing action ends the run FAILED: later actions are NOT_EXECUTED, ON_FAILURE runs, the pipeline shows it', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'prints', inline_commands: 'echo hello from the fake' });
  await addAction(h, pipelinePath, { name: 'fails-with-exit-3', inline_commands: 'exit 3' });
  await addAction(h, pipelinePath, { name: 'never-runs' });
  await addAction(h, pipelinePath, { name: 'on-failure', trigger_time: 'ON_FAILURE' });
  await addAction(h, pipelinePath, { name: 'on-success', trigger_time: 'ON_SUCCESS' });
  const { execution: e, path } = await runToEnd(h, pipelinePath);
  assert.equal(e.status, 'FAILED');
  assert.match(e.error_message ?? '', /action "fails-with-exit-3" failed: exit code 3/);
  assert.deepEqual(statuses(e), {
    prints: 'SUCCESSFUL',
    'fails-with-exit-3': 'FAILED',
    'never-runs': 'NOT_EXECUTED',
    'on-failure': 'SUCCESSFUL',
    'on-success': 'SKIPPED',
  });
  assert.deepEqual(await logsOf(h, path, actionNamed(e, 'prints').action_execution_id), [
    'hello from the fake',
  ]);
  const pipeline = await h.request('GET', pipelinePath);
  assert.equal(pipeline.body.last_execution_status, 'FAILED');
  assert.equal(createdFor(pipelineId), 3);
  assert.equal(fake.containers.size, 0, 'every container is removed');
});

test('retry re-runs only what did not succeed, at the same revision', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'succeeds' });
  await addAction(h, pipelinePath, { name: 'fails', inline_commands: 'exit 1' });
  const { execution: first, path } = await runToEnd(h, pipelinePath);
  assert.equal(first.status, 'FAILED');
  assert.equal(createdFor(pipelineId), 2);
  const retried = await h.request('PATCH', path, { operation: 'RETRY' });
  assert.equal(retried.status, 200, JSON.stringify(retried.body));
  const again = await waitForExecution(
    h,
    path,
    30_000,
    (x) => x.status === 'FAILED' && x.finish_date !== null,
  );
  assert.deepEqual(statuses(again), { succeeds: 'SUCCESSFUL', fails: 'FAILED' });
  assert.equal(again.to_revision.revision, first.to_revision.revision);
  assert.equal(createdFor(pipelineId), 3, 'only the failed action ran again');
  // A running or successful execution cannot be retried: the lifecycle table has no such move.
  const other = await setupPipeline(h, repo.dir);
  await addAction(h, other.pipelinePath, { name: 'succeeds' });
  const { execution: ok, path: okPath } = await runToEnd(h, other.pipelinePath);
  assert.equal(ok.status, 'SUCCESSFUL');
  assert.equal((await h.request('PATCH', okPath, { operation: 'RETRY' })).status, 409);
});

test('cancel stops the running action: TERMINATED, the rest NOT_EXECUTED, the queue moves on', async () => {
  const a = await setupPipeline(h, repo.dir);
  await addAction(h, a.pipelinePath, {
    name: 'sleeps-forever',
    inline_commands: 'echo started\nsleep forever',
  });
  await addAction(h, a.pipelinePath, { name: 'after' });
  const b = await setupPipeline(h, repo.dir);
  await addAction(h, b.pipelinePath, { name: 'quick' });

  const running = await runPipeline(h, a.pipelinePath);
  assert.equal(running.status, 200);
  await waitFor('the first run to start its container', () => fake.running().length === 1);
  // One slot (maxConcurrentExecutions 1): the second run waits in the queue while the first holds it.
  const queued = await runPipeline(h, b.pipelinePath);
  const waiting = await h.request('GET', queued.path);
  assert.equal(waiting.body.status, 'ENQUEUED');

  const cancelled = await h.request('PATCH', running.path, { operation: 'CANCEL' });
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  const e = await waitForExecution(h, running.path);
  assert.equal(e.status, 'TERMINATED');
  assert.deepEqual(statuses(e), { 'sleeps-forever': 'TERMINATED', after: 'NOT_EXECUTED' });
  const second = await waitForExecution(h, queued.path);
  assert.equal(second.status, 'SUCCESSFUL');
  assert.equal(fake.running().length, 0);
});

test('a run cancelled while queued never starts a container and leaves the pipeline status alone', async () => {
  const a = await setupPipeline(h, repo.dir);
  await addAction(h, a.pipelinePath, { name: 'sleeps-forever', inline_commands: 'sleep forever' });
  const b = await setupPipeline(h, repo.dir);
  await addAction(h, b.pipelinePath, { name: 'never' });
  const running = await runPipeline(h, a.pipelinePath);
  await waitFor('the first run to start its container', () => fake.running().length === 1);
  const queued = await runPipeline(h, b.pipelinePath);
  const cancelled = await h.request('PATCH', queued.path, { operation: 'CANCEL' });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.status, 'TERMINATED');
  assert.deepEqual(statuses(cancelled.body), { never: 'NOT_EXECUTED' });
  assert.equal(createdFor(b.pipelineId), 0);
  assert.equal((await h.request('GET', b.pipelinePath)).body.last_execution_status, 'INITIAL');
  await h.request('PATCH', running.path, { operation: 'CANCEL' });
  assert.equal((await waitForExecution(h, running.path)).status, 'TERMINATED');
});
