/**
 * How actions follow one another on real runs: timeout, retry_count/retry_interval, ON_SUCCESS and
 * ON_FAILURE actions, ignore_errors, disabled, and run_next IN_SOFT_PARALLEL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addAction, logsOf, makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import {
  actionNamed,
  containersWith,
  executionLabels,
  instanceLabel,
  removeDirs,
  runToEnd,
} from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);

before(async () => {
  h = await startGantry({ config: { maxConcurrentExecutions: 4 } });
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
});

const statuses = (e: any): Record<string, string> =>
  Object.fromEntries(e.action_executions.map((a: any) => [a.action.name, a.status]));

test('an action over its timeout is stopped and fails saying it timed out', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, {
    name: 'sleeps-forever',
    timeout: 1,
    inline_commands: 'echo started\nsleep 600',
  });
  await addAction(h, pipelinePath, { name: 'next', inline_commands: 'true' });
  const { execution: e, path } = await runToEnd(h, pipelinePath);
  assert.equal(e.status, 'FAILED');
  assert.deepEqual(statuses(e), { 'sleeps-forever': 'FAILED', next: 'NOT_EXECUTED' });
  assert.match(actionNamed(e, 'sleeps-forever').error_message, /timed out/);
  assert.ok(
    (await logsOf(h, path, actionNamed(e, 'sleeps-forever').action_execution_id)).includes('started'),
  );
  assert.deepEqual(containersWith(...executionLabels(h.dataDir, e.id)), []);
});

test('retry_count re-runs a failing command until it succeeds, waiting retry_interval between attempts', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  // Fails the first two times it runs, succeeds the third, counting in a file of the pipeline filesystem.
  const counter =
    'n=$(cat counter 2>/dev/null || echo 0); n=$((n+1)); echo $n > counter; echo "attempt $n"; [ $n -ge 3 ]';
  await addAction(h, pipelinePath, {
    name: 'third-time-lucky',
    retry_count: 2,
    retry_interval: 1,
    inline_commands: counter,
  });
  await addAction(h, pipelinePath, {
    name: 'reads-counter',
    inline_commands: 'echo "counter=$(cat counter)"',
  });
  const { execution: e, path } = await runToEnd(h, pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL');
  const logs = await logsOf(h, path, actionNamed(e, 'third-time-lucky').action_execution_id);
  assert.deepEqual(
    logs.filter((l) => l.startsWith('attempt ')),
    ['attempt 1', 'attempt 2', 'attempt 3'],
  );
  assert.equal(logs.filter((l) => l.startsWith('Retrying')).length, 2);
  assert.ok(
    (await logsOf(h, path, actionNamed(e, 'reads-counter').action_execution_id)).includes('counter=3'),
  );

  // With one retry fewer it runs twice and fails.
  const { pipelinePath: short } = await setupPipeline(h, repo.dir);
  await addAction(h, short, {
    name: 'not-lucky-enough',
    retry_count: 1,
    retry_interval: 0,
    inline_commands: counter,
  });
  const { execution: failed, path: failedPath } = await runToEnd(h, short);
  assert.equal(failed.status, 'FAILED');
  assert.equal(actionNamed(failed, 'not-lucky-enough').error_message, 'exit code 1');
  const failedLogs = await logsOf(h, failedPath, actionNamed(failed, 'not-lucky-enough').action_execution_id);
  assert.deepEqual(
    failedLogs.filter((l) => l.startsWith('attempt ')),
    ['attempt 1', 'attempt 2'],
  );
});

test('ON_SUCCESS actions run only when the main actions succeeded, ON_FAILURE only when one failed', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'main', inline_commands: 'exit $code' });
  await addAction(h, pipelinePath, {
    name: 'on-success',
    trigger_time: 'ON_SUCCESS',
    inline_commands: 'echo success',
  });
  await addAction(h, pipelinePath, {
    name: 'on-failure',
    trigger_time: 'ON_FAILURE',
    inline_commands: 'echo failure',
  });

  const { execution: ok } = await runToEnd(h, pipelinePath, { variables: [{ key: 'code', value: '0' }] });
  assert.equal(ok.status, 'SUCCESSFUL');
  assert.deepEqual(statuses(ok), { main: 'SUCCESSFUL', 'on-success': 'SUCCESSFUL', 'on-failure': 'SKIPPED' });

  const { execution: bad, path } = await runToEnd(h, pipelinePath, {
    variables: [{ key: 'code', value: '5' }],
  });
  assert.equal(bad.status, 'FAILED');
  assert.deepEqual(statuses(bad), { main: 'FAILED', 'on-success': 'SKIPPED', 'on-failure': 'SUCCESSFUL' });
  assert.equal(actionNamed(bad, 'main').error_message, 'exit code 5');
  assert.ok((await logsOf(h, path, actionNamed(bad, 'on-failure').action_execution_id)).includes('failure'));
});

test('ignore_errors lets the pipeline go on past a failing action; a disabled action is skipped', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, { name: 'fails-ignored', ignore_errors: true, inline_commands: 'exit 7' });
  await addAction(h, pipelinePath, {
    name: 'disabled',
    disabled: true,
    inline_commands: 'touch disabled-ran',
  });
  await addAction(h, pipelinePath, {
    name: 'continues',
    inline_commands: 'if [ -f disabled-ran ]; then echo disabled-ran; else echo disabled-did-not-run; fi',
  });
  await addAction(h, pipelinePath, {
    name: 'on-failure',
    trigger_time: 'ON_FAILURE',
    inline_commands: 'true',
  });
  const { execution: e, path } = await runToEnd(h, pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL');
  assert.deepEqual(statuses(e), {
    'fails-ignored': 'FAILED',
    disabled: 'SKIPPED',
    continues: 'SUCCESSFUL',
    'on-failure': 'SKIPPED',
  });
  assert.equal(actionNamed(e, 'fails-ignored').error_message, 'exit code 7');
  assert.ok(
    (await logsOf(h, path, actionNamed(e, 'continues').action_execution_id)).includes('disabled-did-not-run'),
  );
});

test('run_next IN_SOFT_PARALLEL runs the next action at the same time; the one after waits for both', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  // Each side waits for the other's marker (a fresh pipeline filesystem has none): run one after the
  // other, the first would hit its timeout.
  const meet = (me: string, other: string): string =>
    `touch meet-${me}\nuntil [ -f meet-${other} ]; do sleep 0.1; done\necho met`;
  await addAction(h, pipelinePath, {
    name: 'left',
    run_next: 'IN_SOFT_PARALLEL',
    timeout: 30,
    inline_commands: meet('left', 'right'),
  });
  await addAction(h, pipelinePath, { name: 'right', timeout: 30, inline_commands: meet('right', 'left') });
  await addAction(h, pipelinePath, { name: 'after-both', inline_commands: 'rm -f meet-left meet-right' });
  const { execution: e } = await runToEnd(h, pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  assert.deepEqual(statuses(e), { left: 'SUCCESSFUL', right: 'SUCCESSFUL', 'after-both': 'SUCCESSFUL' });
  const [left, right, last] = ['left', 'right', 'after-both'].map((n) => actionNamed(e, n));
  assert.ok(left.start_date < right.finish_date && right.start_date < left.finish_date, 'the two overlapped');
  assert.ok(last.start_date >= left.finish_date && last.start_date >= right.finish_date);
});
