/**
 * Graceful stop with the real server process, Docker engine and git: on SIGTERM running executions
 * finish (up to the drain timeout), queued ones stay queued and run after the restart, and what
 * outlives the timeout (or a second SIGTERM) ends TERMINATED saying why.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { freePort, makeRepo, TEST_IMAGE } from '../support/harness.ts';
import {
  containersWith,
  executionLabels,
  instanceLabel,
  removeInstanceContainers,
  removeDirs,
  runningContainersWith,
  waitFor,
} from '../support/runs.ts';
import { serveGantry, type Served } from './support.ts';

function statusInDatabase(dataDir: string, executionId: number): string {
  const db = new Database(path.join(dataDir, 'gantry.db'), { readonly: true });
  try {
    return (db.prepare('SELECT status FROM executions WHERE id = ?').get(executionId) as { status: string })
      .status;
  } finally {
    db.close();
  }
}

const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);
const dataDirs: string[] = [];
const servers: Served[] = [];

after(() => {
  for (const s of servers)
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  for (const d of dataDirs) removeInstanceContainers(d);
  removeDirs(repo.dir, ...dataDirs);
});

/** One Gantry data directory and port, served by successive `gantry serve` processes. */
class Site {
  readonly dataDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-drain-'));
  port = 0;
  token = '';
  server: Served | null = null;

  constructor() {
    dataDirs.push(this.dataDir);
  }

  async start(...args: string[]): Promise<Served> {
    this.port ||= await freePort();
    const s = await serveGantry([
      '--data-dir',
      this.dataDir,
      '--port',
      String(this.port),
      '--log-level',
      'info',
      '--max-concurrent-executions',
      '1',
      '--cancel-grace-seconds',
      '1',
      ...args,
    ]);
    servers.push(s);
    this.server = s;
    this.token = readFileSync(path.join(this.dataDir, 'admin.token'), 'utf8').trim();
    return s;
  }

  async api(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${apiPath}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  }

  /** A pipeline with one container action running `commands`; returns its API path. */
  async pipeline(name: string, commands: string): Promise<string> {
    if ((await this.api('GET', '/api/workspaces/ws')).status === 404) {
      assert.equal((await this.api('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
      const project = { display_name: 'drain', name: 'drain', custom_repo_url: repo.dir };
      assert.equal((await this.api('POST', '/api/workspaces/ws/projects', project)).status, 201);
    }
    const p = await this.api('POST', '/api/workspaces/ws/projects/drain/pipelines', { name });
    assert.equal(p.status, 201);
    const pipelinePath = `/api/workspaces/ws/projects/drain/pipelines/${p.body.id}`;
    const a = await this.api('POST', `${pipelinePath}/actions`, {
      name,
      type: 'RUN_DOCKER_CONTAINER',
      ...TEST_IMAGE,
      inline_commands: commands,
    });
    assert.equal(a.status, 201);
    return pipelinePath;
  }

  /** Runs a pipeline and waits until its container runs; returns the execution's path and id. */
  async runningExecution(pipelinePath: string): Promise<{ path: string; id: number }> {
    const res = await this.api('POST', `${pipelinePath}/executions`, {});
    assert.equal(res.status, 200);
    const labels = executionLabels(this.dataDir, res.body.id);
    await waitFor('the container to run', () => runningContainersWith(...labels).length === 1, 60_000);
    return { path: `${pipelinePath}/executions/${res.body.id}`, id: res.body.id };
  }

  async finished(executionPath: string): Promise<any> {
    return waitFor(
      `${executionPath} to end`,
      async () => {
        const e = (await this.api('GET', executionPath)).body;
        return ['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(e.status) ? e : null;
      },
      120_000,
    );
  }
}

test('SIGTERM during a 5 s action: it finishes SUCCESSFUL, the queued one stays queued and runs after the restart', async () => {
  const site = new Site();
  const first = await site.start('--drain-timeout-seconds', '120');
  const slow = await site.pipeline('sleeps-5s', 'echo started\nsleep 5\necho finished');
  const quick = await site.pipeline('writes-ok', 'echo ok');
  const running = await site.runningExecution(slow);
  // One slot (max-concurrent-executions 1): this one waits in the queue.
  const queued = await site.api('POST', `${quick}/executions`, {});
  assert.equal(queued.status, 200);
  const queuedPath = `${quick}/executions/${queued.body.id}`;

  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.output());
  // Straight from the database while no server runs: the queued execution was left as it was.
  assert.equal(statusInDatabase(site.dataDir, queued.body.id), 'ENQUEUED');
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(site.dataDir)}`), []);

  const second = await site.start();
  const done = await site.finished(running.path);
  assert.equal(done.status, 'SUCCESSFUL', second.output());
  assert.equal(done.action_executions[0].status, 'SUCCESSFUL');
  const aeid = done.action_executions[0].action_execution_id;
  const logs = await site.api('GET', `${running.path}/action_executions/${aeid}/logs`);
  assert.deepEqual(logs.body.logs, ['started', 'finished']);
  const ran = await site.finished(queuedPath);
  assert.equal(ran.status, 'SUCCESSFUL');
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('SIGTERM during a 600 s action with a 2 s drain timeout: it ends TERMINATED saying why', async () => {
  const site = new Site();
  const first = await site.start('--drain-timeout-seconds', '2');
  const forever = await site.pipeline('sleeps-600s', 'echo started\nsleep 600');
  const running = await site.runningExecution(forever);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.output());
  assert.deepEqual(containersWith(...executionLabels(site.dataDir, running.id)), []);

  await site.start();
  const ended = await site.finished(running.path);
  assert.equal(ended.status, 'TERMINATED');
  assert.equal(
    ended.error_message,
    'the server shut down: the execution did not finish within the 2 s drain timeout',
  );
  assert.equal(ended.action_executions[0].status, 'TERMINATED');
  assert.match(ended.action_executions[0].error_message, /2 s drain timeout/);
  site.server!.child.kill('SIGTERM');
  assert.equal(await site.server!.exited, 0);
});

test('a second SIGTERM stops at once instead of waiting out the drain timeout', async () => {
  const site = new Site();
  const first = await site.start('--drain-timeout-seconds', '3600');
  const forever = await site.pipeline('sleeps-600s', 'echo started\nsleep 600');
  const running = await site.runningExecution(forever);
  first.child.kill('SIGTERM');
  // While it drains, the server still answers, but tells load balancers to send work elsewhere.
  const ready = await waitFor('/readyz to report draining', async () => {
    const r = await site.api('GET', '/readyz');
    return r.status === 503 ? r : null;
  });
  assert.deepEqual(ready.body, {
    status: 'not ready',
    checks: { database: 'ok', docker: 'ok', disk: 'ok', server: 'draining: the server is shutting down' },
  });
  assert.equal((await site.api('GET', running.path)).body.status, 'INPROGRESS');
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.output());

  await site.start();
  const ended = await site.finished(running.path);
  assert.equal(ended.status, 'TERMINATED');
  assert.match(ended.error_message, /told to stop again/);
  site.server!.child.kill('SIGTERM');
  assert.equal(await site.server!.exited, 0);
});
