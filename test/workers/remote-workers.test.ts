/**
 * Remote workers with real processes: one `gantry serve --no-local-worker` (SQLite) and `gantry worker`
 * children on the local Docker engine. Runs spread over two workers, routing by tags and by name (and
 * waiting with a visible reason while no worker matches), cancel through a worker, SIGKILL of a worker
 * mid-action (lease lost: the execution ends FAILED, nothing runs twice, the restarted worker sweeps
 * its container), SIGKILL of the server mid-action (the worker carries on and reports to the restarted
 * server). Leases are 20 s with 2 s heartbeats here (60 s / 10 s by default).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { makeRepo } from '../support/harness.ts';
import { runGantry } from '../ops/support.ts';
import { containersWith, removeDirs, runningContainersWith, waitFor } from '../support/runs.ts';
import { api, Cluster, freePort, pipelineWith, workerLabel, type Proc } from '../support/workers.ts';

const cluster = new Cluster();
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'hello\n' } }]);
const serverDir = path.join(cluster.dir, 'server');
let port = 0;
let base = '';
let server: Proc;
const workers: Record<string, Proc & { dataDir: string }> = {};

const call = (method: string, apiPath: string, body?: unknown) =>
  api(base, cluster.token, method, apiPath, body);

async function run(pipelinePath: string): Promise<string> {
  const res = await call('POST', `${pipelinePath}/executions`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return `${pipelinePath}/executions/${res.body.id}`;
}

async function finished(executionPath: string, timeoutMs = 120_000): Promise<any> {
  return waitFor(
    `${executionPath} to end`,
    async () => {
      const e = (await call('GET', executionPath)).body;
      return ['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(e?.status) ? e : null;
    },
    timeoutMs,
  );
}

async function logOf(executionPath: string, actionExecutionId: string): Promise<string[]> {
  return (await call('GET', `${executionPath}/action_executions/${actionExecutionId}/logs?limit=1000`)).body
    .logs;
}

before(async () => {
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await cluster.startServer(serverDir, port, ['--no-local-worker']);
  assert.equal((await call('POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = { display_name: 'app', name: 'app', custom_repo_url: repo.dir };
  assert.equal((await call('POST', '/workspaces/ws/projects', project)).status, 201);
  workers.w1 = await cluster.startWorker('w1', [base]);
  workers.w2 = await cluster.startWorker('w2', [base], { tags: ['gpu'] });
});

after(() => {
  cluster.cleanup();
  removeDirs(repo.dir);
});

test('runs spread over two workers; each checks out the repository from the server, logs come back, a moved filesystem is said', async () => {
  const spread = await pipelineWith(call, 'app', { name: 'spread', concurrent_pipeline_runs: true }, [
    'echo "read $(cat a.txt)"\nsleep 2',
  ]);
  const paths: string[] = [];
  for (let i = 0; i < 4; i++) paths.push(await run(spread));
  const ended = await Promise.all(paths.map((p) => finished(p)));
  for (const e of ended) assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e));
  assert.deepEqual(new Set(ended.map((e) => e.worker)), new Set(['w1', 'w2']), 'both workers ran some');
  const logs = await Promise.all(
    ended.map((e, i) => logOf(paths[i]!, e.action_executions[0].action_execution_id)),
  );
  for (const l of logs) assert.ok(l.includes('read hello'), l.join('\n'));
  assert.ok(
    logs.some((l) => l.some((line) => /fresh checkout on worker "w\d"/.test(line))),
    'a run on the worker that did not hold the filesystem says it starts fresh',
  );
  const listed = (await call('GET', '/workers')).body.workers;
  assert.deepEqual(
    listed.map((w: any) => [w.name, w.state]),
    [
      ['w1', 'ONLINE'],
      ['w2', 'ONLINE'],
    ],
  );
});

test('a token without the WORKER scope cannot act as a worker', async () => {
  const t = await call('POST', '/user/tokens', { name: 'no-worker', scopes: ['WORKSPACE'] });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  const res = await api(base, t.body.token, 'POST', '/workers/register', {
    name: 'intruder',
    tags: [],
    cpu: 'X64',
    concurrency: 1,
    version: 'x',
  });
  assert.equal(res.status, 403);
  assert.match(res.body.errors[0].message, /WORKER/);
});

test('tags route runs to the worker holding them; a pipeline naming an absent worker waits, saying why, until it connects', async () => {
  const gpu = await pipelineWith(call, 'app', { name: 'gpu', tags: ['gpu'] }, ['echo gpu']);
  for (let i = 0; i < 2; i++) {
    const e = await finished(await run(gpu));
    assert.equal(e.status, 'SUCCESSFUL');
    assert.equal(e.worker, 'w2');
  }
  const named = await pipelineWith(call, 'app', { name: 'named', worker: 'w3' }, ['echo on w3']);
  const waiting = await run(named);
  const reason = await waitFor('a wait reason', async () => (await call('GET', waiting)).body.wait_reason);
  assert.match(reason, /waiting for a worker named "w3"/);
  assert.equal((await call('GET', waiting)).body.status, 'ENQUEUED');
  workers.w3 = await cluster.startWorker('w3', [base]);
  const e = await finished(waiting);
  assert.equal(e.status, 'SUCCESSFUL');
  assert.equal(e.worker, 'w3');
  assert.equal(e.wait_reason, null);
});

test('a cancel reaches the worker: the container is stopped and the execution ends TERMINATED', async () => {
  const long = await pipelineWith(call, 'app', { name: 'long', worker: 'w1' }, ['echo started\nsleep 600']);
  const p = await run(long);
  const started = await waitFor('the action to start', async () => {
    const e = (await call('GET', p)).body;
    return e.action_executions[0].status === 'INPROGRESS' ? e : null;
  });
  await waitFor(
    'its container',
    () =>
      runningContainersWith(
        `gantry.instance=${workerLabel('w1', workers.w1!.dataDir)}`,
        `gantry.execution=${started.id}`,
      ).length === 1,
  );
  const cancel = await call('PATCH', p, { operation: 'CANCEL' });
  assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
  const e = await finished(p);
  assert.equal(e.status, 'TERMINATED');
  assert.equal(e.action_executions[0].status, 'TERMINATED');
  await waitFor(
    'the container to be removed',
    () =>
      containersWith(`gantry.instance=${workerLabel('w1', workers.w1!.dataDir)}`, `gantry.execution=${e.id}`)
        .length === 0,
  );
});

test('SIGKILL of a worker mid-action: its lease expires, the execution ends FAILED saying why, nothing runs again, and the restarted worker removes the container', async () => {
  const doomed = await pipelineWith(call, 'app', { name: 'doomed', worker: 'w3' }, [
    'echo started\nsleep 600',
    'echo never',
  ]);
  const p = await run(doomed);
  const e0 = await waitFor('the first line of output', async () => {
    const e = (await call('GET', p)).body;
    const ae = e.action_executions[0];
    return ae.status === 'INPROGRESS' && (await logOf(p, ae.action_execution_id)).includes('started')
      ? e
      : null;
  });
  const label = `gantry.instance=${workerLabel('w3', workers.w3!.dataDir)}`;
  assert.equal(runningContainersWith(label, `gantry.execution=${e0.id}`).length, 1);
  workers.w3!.child.kill('SIGKILL');
  const e = await finished(p);
  assert.equal(e.status, 'FAILED');
  assert.match(e.error_message, /worker "w3" stopped sending heartbeats .*lease expired/);
  assert.equal(e.action_executions[0].status, 'FAILED');
  assert.match(e.action_executions[0].error_message, /w3/);
  assert.equal(e.action_executions[1].status, 'NOT_EXECUTED');
  // The orphaned container outlived its worker; the worker's next start sweeps it (and only its own).
  assert.equal(runningContainersWith(label, `gantry.execution=${e0.id}`).length, 1);
  workers.w3 = await cluster.startWorker('w3', [base], { dataDir: workers.w3!.dataDir });
  await waitFor('the orphaned container to be removed', () => containersWith(label).length === 0);
  const again = (await call('GET', p)).body;
  assert.equal(again.status, 'FAILED', 'the execution was not run again');
  assert.equal(again.action_executions[1].status, 'NOT_EXECUTED');
  assert.equal((await call('GET', `${doomed}/executions`)).body.total_element_count, 1);
});

test('SIGKILL of the server mid-action: the worker finishes the action and reports to the restarted server', async () => {
  const survivor = await pipelineWith(call, 'app', { name: 'survivor', worker: 'w1' }, [
    'echo before\nsleep 6\necho after',
    'echo second',
  ]);
  const p = await run(survivor);
  await waitFor('the first line of output', async () => {
    const e = (await call('GET', p)).body;
    const ae = e.action_executions[0];
    return ae.status === 'INPROGRESS' && (await logOf(p, ae.action_execution_id)).includes('before');
  });
  server.child.kill('SIGKILL');
  await new Promise((resolve) => server.child.once('exit', resolve));
  server = await cluster.startServer(serverDir, port, ['--no-local-worker']);
  const e = await finished(p);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e));
  assert.equal(e.worker, 'w1');
  assert.deepEqual(await logOf(p, e.action_executions[0].action_execution_id), ['before', 'after']);
  assert.deepEqual(await logOf(p, e.action_executions[1].action_execution_id), ['second']);
});

test('SIGTERM: a worker finishes what it runs, gives up its lease and exits 0', async () => {
  const drained = await pipelineWith(call, 'app', { name: 'drained', worker: 'w1' }, [
    'echo a\nsleep 3\necho b',
  ]);
  const p = await run(drained);
  await waitFor(
    'the action to start',
    async () => (await call('GET', p)).body.action_executions[0].status === 'INPROGRESS',
  );
  const exited = new Promise<number | null>((resolve) => workers.w1!.child.once('exit', resolve));
  workers.w1!.child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const e = await finished(p);
  assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e).slice(0, 3000)}\n${workers.w1!.output()}`);
  assert.deepEqual(await logOf(p, e.action_executions[0].action_execution_id), ['a', 'b']);
  const listed = (await call('GET', '/workers')).body.workers;
  assert.equal(listed.find((w: any) => w.name === 'w1').state, 'STOPPED');
});

test('a worker started with --forbid-root refuses a container that would run as root', async () => {
  workers.w4 = await cluster.startWorker('w4', [base], { args: ['--forbid-root'] });
  const rooted = await pipelineWith(call, 'app', { name: 'rooted', worker: 'w4' }, ['echo as root']);
  const e = await finished(await run(rooted));
  assert.equal(e.status, 'FAILED');
  assert.match(e.action_executions[0].error_message, /forbidRoot/);
});

test('gantry worker refuses bad flags with a clear message', async () => {
  const env = { GANTRY_WORKER_TOKEN: '' };
  const badUrl = await runGantry(['worker', '--server', 'ftp://x', '--token', 't'], { env });
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /--server ftp:\/\/x is not an http\(s\) URL/);
  const noToken = await runGantry(['worker', '--server', base], { env });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /a token is needed/);
  const badName = await runGantry(['worker', '--server', base, '--token', 't', '--name', '../x'], { env });
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /--name/);
});
