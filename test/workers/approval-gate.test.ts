/**
 * An approval gate on a remote worker (real `gantry serve --no-local-worker` and `gantry worker`
 * processes, real Docker): the worker reports the gate, lets the execution go (no container, no slot
 * while it waits), and after APPLY a worker takes it from the queue and goes on from the next action
 * on the same pipeline filesystem.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { makeRepo, TEST_IMAGE } from '../support/harness.ts';
import { removeDirs, runningContainersWith, waitFor } from '../support/runs.ts';
import { api, Cluster, freePort, workerLabel, type Proc } from '../support/workers.ts';

const cluster = new Cluster();
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'hello\n' } }]);
let base = '';
let worker: Proc & { dataDir: string };

const call = (method: string, apiPath: string, body?: unknown) =>
  api(base, cluster.token, method, apiPath, body);

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await cluster.startServer(path.join(cluster.dir, 'server'), port, ['--no-local-worker']);
  assert.equal((await call('POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = { display_name: 'app', name: 'app', custom_repo_url: repo.dir };
  assert.equal((await call('POST', '/workspaces/ws/projects', project)).status, 201);
  worker = await cluster.startWorker('gw', [base]);
});

after(() => {
  cluster.cleanup();
  removeDirs(repo.dir);
});

test('a gate reached on a worker waits holding nothing there; APPLY goes on on the worker from the next action', async () => {
  const p = await call('POST', '/workspaces/ws/projects/app/pipelines', { name: 'gated', worker: 'gw' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const pipelinePath = `/workspaces/ws/projects/app/pipelines/${p.body.id}`;
  const actions = [
    { name: 'Build', type: 'RUN_DOCKER_CONTAINER', ...TEST_IMAGE, inline_commands: 'echo built > out.txt' },
    { name: 'Approve', type: 'WAIT_FOR_APPLY', comment: 'Release $BUDDY_EXECUTION_ID?' },
    { name: 'Deploy', type: 'RUN_DOCKER_CONTAINER', ...TEST_IMAGE, inline_commands: 'cat out.txt' },
  ];
  for (const a of actions) {
    const res = await call('POST', `${pipelinePath}/actions`, a);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const started = await call('POST', `${pipelinePath}/executions`, {});
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const executionPath = `${pipelinePath}/executions/${started.body.id}`;
  const waiting = await waitFor(
    'the gate',
    async () => {
      const e = (await call('GET', executionPath)).body;
      if (e.finish_date !== null) throw new Error(`ended: ${JSON.stringify(e)}`);
      return e.status === 'WAITING_FOR_APPLY' ? e : null;
    },
    120_000,
  );
  assert.equal(waiting.worker, 'gw');
  const gate = waiting.action_executions[1];
  assert.equal(gate.status, 'WAITING_FOR_APPLY');
  const question = await call('GET', `${executionPath}/action_executions/${gate.action_execution_id}/logs`);
  assert.equal(question.body.logs[0], `Waiting for approval: Release ${waiting.id}?`);
  assert.deepEqual(
    runningContainersWith(
      `gantry.instance=${workerLabel('gw', worker.dataDir)}`,
      `gantry.execution=${waiting.id}`,
    ),
    [],
  );
  // The worker (concurrency 1) holds no slot for it: another pipeline's run goes through meanwhile.
  const other = await call('POST', '/workspaces/ws/projects/app/pipelines', { name: 'other', worker: 'gw' });
  const otherPath = `/workspaces/ws/projects/app/pipelines/${other.body.id}`;
  const step = { name: 'Echo', type: 'RUN_DOCKER_CONTAINER', ...TEST_IMAGE, inline_commands: 'echo hi' };
  assert.equal((await call('POST', `${otherPath}/actions`, step)).status, 201);
  const otherRun = await call('POST', `${otherPath}/executions`, {});
  const otherDone = await waitFor(
    'the other run',
    async () => {
      const e = (await call('GET', `${otherPath}/executions/${otherRun.body.id}`)).body;
      return e.finish_date !== null ? e : null;
    },
    120_000,
  );
  assert.equal(otherDone.status, 'SUCCESSFUL');
  assert.equal((await call('GET', executionPath)).body.status, 'WAITING_FOR_APPLY');

  const applied = await call('PATCH', executionPath, { operation: 'APPLY' });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  const done = await waitFor(
    'the end',
    async () => {
      const e = (await call('GET', executionPath)).body;
      return e.finish_date !== null ? e : null;
    },
    120_000,
  );
  assert.equal(done.status, 'SUCCESSFUL', JSON.stringify(done));
  assert.equal(done.worker, 'gw');
  assert.equal(done.action_executions[0].start_date, waiting.action_executions[0].start_date);
  assert.ok(done.action_executions[1].approver_id !== null);
  const deploy = await call(
    'GET',
    `${executionPath}/action_executions/${done.action_executions[2].action_execution_id}/logs`,
  );
  assert.ok(deploy.body.logs.includes('built'), JSON.stringify(deploy.body.logs));
});
