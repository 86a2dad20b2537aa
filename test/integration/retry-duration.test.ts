/**
 * A retried execution keeps the start of its first attempt, so its duration covers both attempts;
 * each retried action execution has the retry's own start and finish.
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
import { actionNamed, removeDirs, runToEnd } from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);

before(async () => {
  h = await startGantry();
});
after(async () => {
  await h.close();
  removeDirs(repo.dir);
});

test('a retry keeps the original start date and the duration includes the first attempt', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'slow', inline_commands: 'sleep 2' });
  // Fails the first time, succeeds on the retry (the marker lives in the pipeline filesystem).
  await addAction(h, pipelinePath, {
    name: 'flaky',
    inline_commands: 'if [ -e .tried ]; then echo ok; else touch .tried; exit 1; fi',
  });
  const { execution: first, path } = await runToEnd(h, pipelinePath);
  assert.equal(first.status, 'FAILED');
  const firstSpan = Date.parse(first.finish_date) - Date.parse(first.start_date);
  assert.ok(firstSpan >= 2000, `first attempt took ${firstSpan} ms`);

  const retried = await h.request('PATCH', path, { operation: 'RETRY' });
  assert.equal(retried.status, 200, JSON.stringify(retried.body));
  const e = await waitForExecution(h, path);
  assert.equal(e.status, 'SUCCESSFUL');
  assert.equal(e.start_date, first.start_date, 'the original start is kept');
  assert.ok(Date.parse(e.finish_date) > Date.parse(first.finish_date));
  const span = Date.parse(e.finish_date) - Date.parse(e.start_date);
  assert.ok(span >= firstSpan, `duration ${span} ms is shorter than the first attempt's ${firstSpan} ms`);
  // The action that ran again has the retry's own times; the one that had succeeded keeps its own.
  const flaky = actionNamed(e, 'flaky');
  assert.ok(Date.parse(flaky.start_date) >= Date.parse(first.finish_date));
  assert.equal(actionNamed(e, 'slow').start_date, actionNamed(first, 'slow').start_date);
});
