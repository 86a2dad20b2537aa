/**
 * Two server processes on one database (a shared SQLite file here; PostgreSQL is issue 11 §2) and two
 * workers, each given both servers: runs spread over both workers whichever server accepted them, and
 * when the server a worker talks to is SIGKILLed mid-action, the worker goes on with the other one —
 * the action finishes, its whole log reaches the surviving server, and the run ends SUCCESSFUL there.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { makeRepo } from '../support/harness.ts';
import { removeDirs, waitFor } from '../support/runs.ts';
import { api, Cluster, freePort, pipelineWith, type Proc } from '../support/workers.ts';

const probe = new Cluster();
const shared = path.join(probe.dir, 'shared.db');
const cluster = new Cluster({ secretKeyFile: path.join(probe.dir, 'secret.key') }, [
  '--database-url',
  `sqlite:${shared}`,
  '--no-local-worker',
]);
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'hello\n' } }]);
const bases: string[] = [];
const servers: Proc[] = [];

const on = (i: number) => (method: string, apiPath: string, body?: unknown) =>
  api(bases[i]!, cluster.token, method, apiPath, body);

async function finished(call: ReturnType<typeof on>, executionPath: string): Promise<any> {
  return waitFor(
    `${executionPath} to end`,
    async () => {
      const e = (await call('GET', executionPath)).body;
      return ['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(e?.status) ? e : null;
    },
    120_000,
  );
}

before(async () => {
  for (const name of ['a', 'b']) {
    const port = await freePort();
    bases.push(`http://127.0.0.1:${port}`);
    // One after the other: the first creates the secret key and the admin, the second finds both.
    servers.push(await cluster.startServer(path.join(cluster.dir, `server-${name}`), port));
  }
  assert.equal((await on(0)('POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = { display_name: 'app', name: 'app', custom_repo_url: repo.dir };
  assert.equal((await on(1)('POST', '/workspaces/ws/projects', project)).status, 201);
  await cluster.startWorker('w1', [bases[0]!, bases[1]!]);
  await cluster.startWorker('w2', [bases[1]!, bases[0]!]);
});

after(() => {
  cluster.cleanup();
  probe.cleanup();
  removeDirs(repo.dir);
});

test('runs accepted by either server spread over both workers', async () => {
  const spread = await pipelineWith(on(0), 'app', { name: 'spread', concurrent_pipeline_runs: true }, [
    'echo "read $(cat a.txt)"\nsleep 2',
  ]);
  const paths: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await on(i % 2)('POST', `${spread}/executions`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    paths.push(`${spread}/executions/${res.body.id}`);
  }
  const ended = await Promise.all(paths.map((p, i) => finished(on(i % 2), p)));
  for (const e of ended) assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e));
  assert.deepEqual(new Set(ended.map((e) => e.worker)), new Set(['w1', 'w2']));
});

test('SIGKILL of the server a worker talks to: it goes on with the other server without losing its work', async () => {
  const survivor = await pipelineWith(on(0), 'app', { name: 'survivor', worker: 'w1' }, [
    'echo before\nsleep 6\necho after',
    'echo second',
  ]);
  const res = await on(0)('POST', `${survivor}/executions`, {});
  assert.equal(res.status, 200);
  const p = `${survivor}/executions/${res.body.id}`;
  await waitFor('the first line of output at server a', async () => {
    const e = (await on(0)('GET', p)).body;
    const ae = e.action_executions[0];
    if (ae.status !== 'INPROGRESS') return false;
    return (await on(0)('GET', `${p}/action_executions/${ae.action_execution_id}/logs`)).body.logs.includes(
      'before',
    );
  });
  servers[0]!.child.kill('SIGKILL');
  const e = await finished(on(1), p);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e));
  assert.equal(e.worker, 'w1');
  const logs = async (i: number) =>
    (await on(1)('GET', `${p}/action_executions/${e.action_executions[i].action_execution_id}/logs`)).body
      .logs;
  // Server b never saw the first chunk: the worker sent the log again from the size b reported.
  assert.deepEqual(await logs(0), ['before', 'after']);
  assert.deepEqual(await logs(1), ['second']);
});
