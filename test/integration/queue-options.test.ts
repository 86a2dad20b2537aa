/**
 * Buddy's queue options on real runs: by default only the newest waiting run of a one-at-a-time
 * pipeline runs and the others end SKIPPED; no_skip_to_most_recent keeps them all; terminate_stale_runs
 * makes a newer run of a branch terminate the older one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addAction,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import { containersWith, instanceLabel, removeDirs, runPipeline } from '../support/runs.ts';

const repo = makeRepo([
  { message: 'master', files: { 'a.txt': 'a\n' } },
  { message: 'dev', files: { 'a.txt': 'dev\n' }, branch: 'dev' },
]);
let h: Harness;

// A run whose comment is "block" sleeps until cancelled; any other finishes at once.
const ACTION = {
  name: 'maybe-blocks',
  inline_commands: 'if [ "$BUDDY_EXECUTION_COMMENT" = block ]; then sleep 600; fi',
};

before(async () => {
  h = await startGantry({ config: { maxConcurrentExecutions: 4 } });
});
after(async () => {
  await h.close();
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
  removeDirs(repo.dir);
});

async function pipelineWith(settings: Record<string, unknown>): Promise<string> {
  const { pipelinePath } = await setupPipeline(h, repo.dir, settings);
  await addAction(h, pipelinePath, ACTION);
  return pipelinePath;
}

async function start(pipelinePath: string, comment: string, branch = 'master'): Promise<string> {
  const res = await runPipeline(h, pipelinePath, { comment, branch: { name: branch } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.path;
}

const running = (e: any) => e.action_executions[0].status === 'INPROGRESS';
const ended = (e: any) => ['SUCCESSFUL', 'FAILED', 'TERMINATED', 'SKIPPED'].includes(e.status);

test('by default, of several waiting runs only the newest runs; the others end SKIPPED saying why', async () => {
  const p = await pipelineWith({});
  const blocker = await start(p, 'block');
  await waitForExecution(h, blocker, 60_000, running);
  const waiting = [await start(p, 'one'), await start(p, 'two'), await start(p, 'three')];
  const idOf = (path: string) => Number(path.split('/').pop());
  for (const [i, w] of waiting.slice(0, 2).entries()) {
    // Each is skipped as soon as a newer one waits with it, and names that one.
    const newestId = idOf(waiting[i + 1]!);
    const e = await waitForExecution(h, w, 30_000, ended);
    assert.equal(e.status, 'SKIPPED');
    assert.match(
      e.error_message,
      new RegExp(`newer run \\(execution ${newestId}\\).*no_skip_to_most_recent`),
    );
    assert.ok(e.action_executions.every((a: any) => a.status === 'NOT_EXECUTED'));
  }
  assert.equal((await h.request('GET', waiting[2]!)).body.status, 'ENQUEUED');
  assert.equal((await h.request('GET', blocker)).body.status, 'INPROGRESS', 'the running one goes on');
  assert.equal((await h.request('PATCH', blocker, { operation: 'CANCEL' })).status, 200);
  assert.equal((await waitForExecution(h, waiting[2]!)).status, 'SUCCESSFUL');
});

test('no_skip_to_most_recent: every waiting run runs, in order', async () => {
  const p = await pipelineWith({ no_skip_to_most_recent: true });
  const blocker = await start(p, 'block');
  await waitForExecution(h, blocker, 60_000, running);
  const waiting = [await start(p, 'one'), await start(p, 'two')];
  assert.equal((await h.request('PATCH', blocker, { operation: 'CANCEL' })).status, 200);
  const done = [];
  for (const w of waiting) done.push(await waitForExecution(h, w, 60_000, ended));
  assert.deepEqual(
    done.map((e) => e.status),
    ['SUCCESSFUL', 'SUCCESSFUL'],
  );
  assert.ok(done[0].start_date <= done[1].start_date);
});

test('terminate_stale_runs: a newer run of the same branch terminates the running one; other branches go on', async () => {
  const p = await pipelineWith({ terminate_stale_runs: true, concurrent_pipeline_runs: true });
  const oldMaster = await start(p, 'block', 'master');
  const dev = await start(p, 'block', 'dev');
  await waitForExecution(h, oldMaster, 60_000, running);
  await waitForExecution(h, dev, 60_000, running);

  const newMaster = await start(p, 'quick', 'master');
  const newId = Number(newMaster.split('/').pop());
  const stale = await waitForExecution(h, oldMaster, 60_000, ended);
  assert.equal(stale.status, 'TERMINATED');
  assert.match(
    stale.error_message,
    new RegExp(`newer run \\(execution ${newId}\\) of the same branch.*terminate_stale_runs`),
  );
  assert.equal((await waitForExecution(h, newMaster)).status, 'SUCCESSFUL');
  assert.equal((await h.request('GET', dev)).body.status, 'INPROGRESS', 'dev is another branch');
  assert.equal((await h.request('PATCH', dev, { operation: 'CANCEL' })).status, 200);
  assert.equal((await waitForExecution(h, dev)).status, 'TERMINATED');
});

test('terminate_stale_runs on a one-at-a-time pipeline: the waiting older run of the branch is terminated, not run', async () => {
  const p = await pipelineWith({ terminate_stale_runs: true, no_skip_to_most_recent: true });
  const blocker = await start(p, 'block', 'dev');
  await waitForExecution(h, blocker, 60_000, running);
  const older = await start(p, 'one', 'master');
  const newer = await start(p, 'two', 'master');
  const e = await waitForExecution(h, older, 30_000, ended);
  assert.equal(e.status, 'TERMINATED');
  assert.match(e.error_message, /terminate_stale_runs/);
  assert.equal((await h.request('PATCH', blocker, { operation: 'CANCEL' })).status, 200);
  assert.equal((await waitForExecution(h, newer)).status, 'SUCCESSFUL');
});
