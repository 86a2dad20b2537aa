/**
 * The queue on real runs: higher priority leaves first, FIFO within a priority, and a pipeline with
 * concurrent_pipeline_runs false never runs two executions at once even when slots are free.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  addAction,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import { containersWith, instanceLabel, removeDirs, runPipeline } from '../support/runs.ts';

const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);
const harnesses: Harness[] = [];

after(async () => {
  for (const h of harnesses) {
    await h.close();
    assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
  }
  removeDirs(repo.dir);
});

test('with one slot, queued executions start by priority, then in the order they were accepted', async () => {
  const h = await startGantry({ config: { maxConcurrentExecutions: 1 } });
  harnesses.push(h);
  const { pipelinePath: blockerPath } = await setupPipeline(h, repo.dir);
  await addAction(h, blockerPath, { name: 'sleeps-forever', inline_commands: 'sleep 600' });
  const { pipelinePath } = await setupPipeline(h, repo.dir, { concurrent_pipeline_runs: true });
  await addAction(h, pipelinePath, { name: 'quick', inline_commands: 'echo $BUDDY_EXECUTION_PRIORITY' });

  const blocker = await runPipeline(h, blockerPath);
  await waitForExecution(h, blocker.path, 30_000, (e) => e.action_executions[0].status === 'INPROGRESS');
  const order = ['LOW', 'NORMAL', 'HIGH', 'LOW', 'NORMAL', 'HIGH'];
  const queued: { priority: string; id: number; path: string }[] = [];
  for (const priority of order) {
    const res = await runPipeline(h, pipelinePath, { priority, comment: priority });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ENQUEUED');
    assert.equal(res.body.priority, priority);
    queued.push({ priority, id: res.body.id, path: res.path });
  }
  // Nothing overtakes the running execution while the only slot is taken.
  for (const q of queued) assert.equal((await h.request('GET', q.path)).body.status, 'ENQUEUED');

  assert.equal((await h.request('PATCH', blocker.path, { operation: 'CANCEL' })).status, 200);
  const done = [];
  for (const q of queued) done.push({ ...q, e: await waitForExecution(h, q.path) });
  for (const d of done) assert.equal(d.e.status, 'SUCCESSFUL');
  const byStart = [...done].sort((a, b) => a.e.start_date.localeCompare(b.e.start_date));
  const expected = [...queued].sort(
    (a, b) =>
      ['HIGH', 'NORMAL', 'LOW'].indexOf(a.priority) - ['HIGH', 'NORMAL', 'LOW'].indexOf(b.priority) ||
      a.id - b.id,
  );
  assert.deepEqual(
    byStart.map((d) => `${d.priority}#${d.id}`),
    expected.map((q) => `${q.priority}#${q.id}`),
  );
  // One slot: each started only after the one before it finished.
  for (let i = 1; i < byStart.length; i += 1)
    assert.ok(byStart[i]!.e.start_date >= byStart[i - 1]!.e.finish_date);
});

test('a pipeline without concurrent runs never overlaps two executions, one with them does', async () => {
  const h = await startGantry({ config: { maxConcurrentExecutions: 4 } });
  harnesses.push(h);
  const { pipelinePath: serial } = await setupPipeline(h, repo.dir, { concurrent_pipeline_runs: false });
  await addAction(h, serial, { name: 'takes-a-second', inline_commands: 'sleep 1' });
  const first = await runPipeline(h, serial);
  const second = await runPipeline(h, serial);
  const a = await waitForExecution(h, first.path);
  const b = await waitForExecution(h, second.path);
  assert.equal(a.status, 'SUCCESSFUL');
  assert.equal(b.status, 'SUCCESSFUL');
  assert.ok(
    b.start_date >= a.finish_date,
    `second started ${b.start_date} before the first finished ${a.finish_date}`,
  );

  // The control: with concurrent runs allowed, each execution waits until both have started (it
  // would time out if they were serialised), so both succeeding proves they overlapped.
  const { pipelinePath: parallel } = await setupPipeline(h, repo.dir, { concurrent_pipeline_runs: true });
  await addAction(h, parallel, {
    name: 'meets-the-other',
    timeout: 30,
    inline_commands:
      'mkdir -p meet && touch meet/$BUDDY_EXECUTION_ID\nuntil [ "$(ls meet | wc -l)" -ge 2 ]; do sleep 0.1; done',
  });
  const c = await runPipeline(h, parallel);
  const d = await runPipeline(h, parallel);
  assert.equal((await waitForExecution(h, c.path)).status, 'SUCCESSFUL');
  assert.equal((await waitForExecution(h, d.path)).status, 'SUCCESSFUL');
});

test("with concurrent runs, the pipeline's last execution is the newest run, even when an older one ends last", async () => {
  const h = await startGantry({ config: { maxConcurrentExecutions: 4 } });
  harnesses.push(h);
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo.dir, { concurrent_pipeline_runs: true });
  await addAction(h, pipelinePath, {
    name: 'slow-or-fast',
    timeout: 60,
    inline_commands: 'if [ "$role" = slow ]; then until [ -f release ]; do sleep 0.1; done; exit 1; fi',
  });
  const slow = await runPipeline(h, pipelinePath, { variables: [{ key: 'role', value: 'slow' }] });
  await waitForExecution(h, slow.path, 30_000, (e) => e.action_executions[0].status === 'INPROGRESS');
  const fast = await runPipeline(h, pipelinePath, { variables: [{ key: 'role', value: 'fast' }] });
  assert.equal((await waitForExecution(h, fast.path)).status, 'SUCCESSFUL');
  assert.equal((await h.request('GET', pipelinePath)).body.last_execution_status, 'SUCCESSFUL');

  // Let the older one end, failing, after the newer one.
  writeFileSync(path.join(h.dataDir, 'pipelines', String(pipelineId), 'fs', 'release'), '');
  assert.equal((await waitForExecution(h, slow.path)).status, 'FAILED');
  const p = (await h.request('GET', pipelinePath)).body;
  assert.equal(p.last_execution_status, 'SUCCESSFUL');
  assert.equal(p.last_execution_revision, repo.shas[0]);
});
