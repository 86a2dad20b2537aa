/**
 * PATCH {"operation":"CANCEL"|"RETRY"} on real runs: cancelling a running container, cancelling a
 * queued execution, and retrying a failed one from its first unsuccessful action.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path_ from 'node:path';
import {
  addAction,
  git,
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
  instanceLabel,
  removeDirs,
  runningContainersWith,
  runPipeline,
  runToEnd,
  waitFor,
} from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'first', files: { 'version.txt': 'one\n' } }]);

before(async () => {
  h = await startGantry({ config: { maxConcurrentExecutions: 1 } });
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
});

async function sleepingPipeline(): Promise<string> {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'sleeps-forever', inline_commands: 'sleep 600' });
  await addAction(h, pipelinePath, { name: 'after-sleep', inline_commands: 'echo never' });
  return pipelinePath;
}

// No timed assertions: that a cancel stops "sleep 600" instead of waiting for it shows in the run ending at all,
// since waitForExecution gives up long before 600 s; how soon after the grace period is a benchmark's business.
test('cancelling a running "sleep 600" stops it: TERMINATED, the next action not run, no container left', async () => {
  const pipelinePath = await sleepingPipeline();
  const run = await runPipeline(h, pipelinePath);
  const labels = executionLabels(h.dataDir, run.body.id);
  await waitFor('the container to run', () => runningContainersWith(...labels).length === 1);
  const running = await h.request('GET', run.path);
  assert.equal(running.body.status, 'INPROGRESS');
  assert.equal(actionNamed(running.body, 'sleeps-forever').status, 'INPROGRESS');
  assert.equal((await h.request('GET', pipelinePath)).body.last_execution_status, 'INPROGRESS');

  const res = await h.request('PATCH', run.path, { operation: 'CANCEL' });
  const e = await waitForExecution(h, run.path);
  assert.equal(res.status, 200);
  assert.equal(e.status, 'TERMINATED');
  assert.equal(actionNamed(e, 'sleeps-forever').status, 'TERMINATED');
  assert.equal(actionNamed(e, 'after-sleep').status, 'NOT_EXECUTED');
  assert.ok(e.finish_date);
  assert.deepEqual(containersWith(...labels), []);
  const p = await h.request('GET', pipelinePath);
  assert.equal(p.body.last_execution_status, 'TERMINATED');
  // A finished execution cannot be cancelled again.
  assert.equal((await h.request('PATCH', run.path, { operation: 'CANCEL' })).status, 409);
});

test('a cancel that lands while the container is being created or started still stops it', async () => {
  const pipelinePath = await sleepingPipeline();
  // Polls with no delay, so that the cancel lands at varying points of the container's setup.
  for (let i = 0; i < 4; i += 1) {
    const run = await runPipeline(h, pipelinePath);
    for (;;) {
      const e = (await h.request('GET', run.path)).body;
      if (e.action_executions[0].status === 'INPROGRESS') break;
      await new Promise((r) => setImmediate(r));
    }
    if (i % 2 === 1) await new Promise((r) => setTimeout(r, 20 * i));
    const res = await h.request('PATCH', run.path, { operation: 'CANCEL' });
    const e = await waitForExecution(h, run.path);
    assert.equal(res.status, 200, `attempt ${i}`);
    assert.equal(e.status, 'TERMINATED', `attempt ${i}`);
    assert.deepEqual(containersWith(...executionLabels(h.dataDir, e.id)), []);
  }
});

test('cancelling a queued execution ends it TERMINATED without running anything', async () => {
  const pipelinePath = await sleepingPipeline();
  const blocker = await runPipeline(h, pipelinePath);
  await waitForExecution(h, blocker.path, 30_000, (e) => e.status === 'INPROGRESS');
  const { pipelinePath: other } = await setupPipeline(h, repo.dir);
  await addAction(h, other, { name: 'must-not-run', inline_commands: 'echo ran > ran.txt' });
  const queued = await runPipeline(h, other);
  assert.equal(queued.body.status, 'ENQUEUED');

  const res = await h.request('PATCH', queued.path, { operation: 'CANCEL' });
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'TERMINATED');
  assert.equal(res.body.start_date, null);
  assert.deepEqual(
    res.body.action_executions.map((a: any) => a.status),
    ['NOT_EXECUTED'],
  );

  await h.request('PATCH', blocker.path, { operation: 'CANCEL' });
  assert.equal((await waitForExecution(h, blocker.path)).status, 'TERMINATED');
  // The freed slot does not resurrect the cancelled execution: a later one runs and finishes first.
  const later = await runToEnd(h, other);
  assert.equal(later.execution.status, 'SUCCESSFUL');
  const again = (await h.request('GET', queued.path)).body;
  assert.equal(again.status, 'TERMINATED');
  assert.equal(again.action_executions[0].status, 'NOT_EXECUTED');
  assert.equal(again.action_executions[0].start_date, null);
  assert.deepEqual(containersWith(...executionLabels(h.dataDir, queued.body.id)), []);
});

test('RETRY re-runs a failed execution from its first unsuccessful action, at the same revision', async () => {
  const retryRepo = makeRepo([{ message: 'first', files: { 'version.txt': 'one\n' } }]);
  try {
    const { pipelinePath } = await setupPipeline(h, retryRepo.dir);
    await addAction(h, pipelinePath, { name: 'counts', inline_commands: 'echo run >> count.txt' });
    // Fails the first time it runs, succeeds once its marker exists.
    await addAction(h, pipelinePath, {
      name: 'fails-once',
      inline_commands: 'if [ -f marker ]; then echo fine; else touch marker; exit 4; fi',
    });
    await addAction(h, pipelinePath, {
      name: 'reports',
      inline_commands: 'echo "count=$(wc -l < count.txt) version=$(cat version.txt)"',
    });
    const { execution: failed, path } = await runToEnd(h, pipelinePath);
    assert.equal(failed.status, 'FAILED');
    assert.deepEqual(
      failed.action_executions.map((a: any) => a.status),
      ['SUCCESSFUL', 'FAILED', 'NOT_EXECUTED'],
    );
    assert.equal(actionNamed(failed, 'fails-once').error_message, 'exit code 4');
    assert.equal((await h.request('GET', pipelinePath)).body.last_execution_status, 'FAILED');

    // A new commit must not change what a retry runs.
    writeFileSync(path_.join(retryRepo.dir, 'version.txt'), 'two\n');
    git(retryRepo.dir, 'commit', '-q', '-am', 'second');
    const res = await h.request('PATCH', path, { operation: 'RETRY' });
    assert.equal(res.status, 200);
    assert.ok(['ENQUEUED', 'INPROGRESS'].includes(res.body.status), res.body.status);
    const e = await waitForExecution(h, path);
    assert.equal(e.status, 'SUCCESSFUL');
    assert.equal(e.id, failed.id);
    assert.equal(e.to_revision.revision, retryRepo.shas[0]);
    assert.deepEqual(
      e.action_executions.map((a: any) => a.status),
      ['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL'],
    );
    // The successful first action kept its result and was not run again.
    assert.equal(actionNamed(e, 'counts').start_date, actionNamed(failed, 'counts').start_date);
    assert.ok(
      (await logsOf(h, path, actionNamed(e, 'reports').action_execution_id)).includes('count=1 version=one'),
    );
    assert.equal((await h.request('GET', pipelinePath)).body.last_execution_status, 'SUCCESSFUL');
    // Only failed or terminated executions can be retried.
    assert.equal((await h.request('PATCH', path, { operation: 'RETRY' })).status, 409);
  } finally {
    removeDirs(retryRepo.dir);
  }
});
