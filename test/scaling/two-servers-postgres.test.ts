/**
 * Two `gantry serve` processes on one PostgreSQL, each with its own data directory and Docker runner,
 * sharing the secret key: runs accepted by either are run by one of them, none is claimed twice, a
 * pipeline without concurrent runs never runs two at once across the servers, and each server's status
 * stream sees the other's changes, and either serves the other's logs (also a gate's log approved
 * through the server that did not run it). Runs in the PostgreSQL pass of scripts/test.sh.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { serveGantry, type Served } from '../ops/support.ts';
import { createPostgresDatabase, testDatabaseKind, type TestDatabase } from '../support/database.ts';
import { freePort, makeRepo, TEST_IMAGE } from '../support/harness.ts';
import { instanceLabel, removeInstanceContainers, removeDirs } from '../support/runs.ts';

const onPostgres = testDatabaseKind() === 'postgres';

interface Server {
  served: Served;
  dataDir: string;
  url: string;
}

let database: TestDatabase;
const servers: Server[] = [];
let token = '';
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);

async function start(keyFile?: string): Promise<Server> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-two-servers-'));
  const port = await freePort();
  const served = await serveGantry(
    ['--data-dir', dataDir, '--port', String(port), '--database-url', database.url, '--log-level', 'warn'],
    { GANTRY_MAX_CONCURRENT_EXECUTIONS: '2', ...(keyFile ? { GANTRY_SECRET_KEY_FILE: keyFile } : {}) },
  );
  const server = { served, dataDir, url: `http://127.0.0.1:${port}` };
  servers.push(server);
  return server;
}

async function api(server: Server, method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(server.url + url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}

before(async () => {
  if (!onPostgres) return;
  database = await createPostgresDatabase();
  const first = await start();
  token = readFileSync(path.join(first.dataDir, 'admin.token'), 'utf8').trim();
  // Every server seals and opens secrets with the same key.
  await start(path.join(first.dataDir, 'secret.key'));
});

after(async () => {
  for (const s of servers) {
    s.served.child.kill('SIGTERM');
    await s.served.exited;
    removeInstanceContainers(s.dataDir);
    rmSync(s.dataDir, { recursive: true, force: true });
  }
  await database?.drop();
  removeDirs(repo.dir);
});

async function pipeline(a: Server, concurrent: boolean): Promise<string> {
  const name = `p${Math.random().toString(36).slice(2, 8)}`;
  await api(a, 'POST', '/api/workspaces/ws/projects', {
    display_name: name,
    name,
    custom_repo_url: repo.dir,
  });
  const p = await api(a, 'POST', `/api/workspaces/ws/projects/${name}/pipelines`, {
    name: 'P',
    concurrent_pipeline_runs: concurrent,
    // Every waiting run runs (by default only the newest waiting run of a one-at-a-time pipeline does).
    no_skip_to_most_recent: true,
  });
  const path = `/api/workspaces/ws/projects/${name}/pipelines/${p.id}`;
  await api(a, 'POST', `${path}/actions`, {
    name: 'work',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'echo ran-once; sleep 1',
  });
  return path;
}

async function waitForAll(s: Server, path: string, ids: number[]): Promise<any[]> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const all = await Promise.all(ids.map((id) => api(s, 'GET', `${path}/executions/${id}`)));
    if (all.every((e) => ['SUCCESSFUL', 'FAILED', 'TERMINATED', 'SKIPPED'].includes(e.status))) return all;
    if (Date.now() > deadline) throw new Error(`not finished: ${all.map((e) => e.status).join(',')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitForStatus(s: Server, path: string, statuses: string[]): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const e = await api(s, 'GET', path);
    if (statuses.includes(e.status)) return e;
    if (Date.now() > deadline) throw new Error(`${path} is still ${e.status}: ${JSON.stringify(e)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rows<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

test(
  'runs accepted by either server are each claimed once, by one of the two',
  { skip: !onPostgres },
  async () => {
    const [a, b] = servers as [Server, Server];
    await api(a, 'POST', '/api/workspaces', { name: 'WS', domain: 'ws' });
    const path = await pipeline(a, true);
    // Both servers' status streams must see every execution's end, whoever ran it.
    const ids: number[] = [];
    for (let i = 0; i < 12; i += 1) ids.push((await api(i % 2 ? b : a, 'POST', `${path}/executions`, {})).id);
    const ended = await waitForAll(b, path, ids);
    assert.deepEqual(
      ended.map((e) => e.status),
      ids.map(() => 'SUCCESSFUL'),
    );
    const claims = await rows<{ execution_id: number; n: number }>(
      `SELECT execution_id, count(*)::int AS n FROM execution_events
     WHERE type = 'execution' AND payload LIKE '%"INPROGRESS"%' AND execution_id = ANY($1) GROUP BY execution_id`,
      [ids],
    );
    assert.equal(claims.length, ids.length);
    for (const c of claims) assert.equal(c.n, 1, `execution ${c.execution_id} was claimed once`);
    const actionStarts = await rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM execution_events
     WHERE type = 'action_execution' AND payload LIKE '%"INPROGRESS"%' AND execution_id = ANY($1)`,
      [ids],
    );
    assert.equal(actionStarts[0]!.n, ids.length, 'each action ran once');
    const by = await rows<{ runner_instance: string; n: number }>(
      `SELECT worker_session AS runner_instance, count(*)::int AS n FROM executions WHERE id = ANY($1) GROUP BY worker_session`,
      [ids],
    );
    assert.deepEqual(
      by.map((r) => r.runner_instance).sort(),
      [`local:${instanceLabel(a.dataDir)}`, `local:${instanceLabel(b.dataDir)}`].sort(),
      'both servers ran some',
    );
    // Each log is served by the server that did not run it too (from the database's log chunks).
    for (const e of ended) {
      const [row] = await rows<{ runner_instance: string }>(
        'SELECT worker_session AS runner_instance FROM executions WHERE id = $1',
        [e.id],
      );
      const other = row!.runner_instance === `local:${instanceLabel(a.dataDir)}` ? b : a;
      const aeid = e.action_executions[0].action_execution_id;
      const log = await api(other, 'GET', `${path}/executions/${e.id}/action_executions/${aeid}/logs`);
      assert.ok(log.logs.includes('ran-once'), `execution ${e.id}: ${JSON.stringify(log.logs)}`);
    }
  },
);

test(
  'a pipeline without concurrent runs runs one at a time across both servers',
  { skip: !onPostgres },
  async () => {
    const [a, b] = servers as [Server, Server];
    const path = await pipeline(b, false);
    const ids: number[] = [];
    for (let i = 0; i < 6; i += 1) ids.push((await api(i % 2 ? a : b, 'POST', `${path}/executions`, {})).id);
    const ended = await waitForAll(a, path, ids);
    assert.ok(ended.every((e) => e.status === 'SUCCESSFUL'));
    const spans = ended
      .map((e) => [Date.parse(e.start_date), Date.parse(e.finish_date)] as const)
      .sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i += 1)
      assert.ok(spans[i]![0] >= spans[i - 1]![1], `run ${i} started after run ${i - 1} ended`);
  },
);

test(
  "an approval through the server that did not run the gate: 'Approved by' is in the gate's log at both servers",
  { skip: !onPostgres },
  async () => {
    const [a, b] = servers as [Server, Server];
    const path = await pipeline(a, false);
    await api(a, 'POST', `${path}/actions`, { name: 'Approve', type: 'WAIT_FOR_APPLY', comment: 'Ship it?' });
    const id = (await api(b, 'POST', `${path}/executions`, {})).id as number;
    const e = await waitForStatus(a, `${path}/executions/${id}`, ['WAITING_FOR_APPLY']);
    // The server whose runner reached the gate holds its log file; the approval goes through the other.
    const [row] = await rows<{ session: string }>(
      'SELECT worker_session AS session FROM executions WHERE id = $1',
      [id],
    );
    const ran = row!.session === `local:${instanceLabel(a.dataDir)}` ? a : b;
    const other = ran === a ? b : a;
    const gate = e.action_executions[1].action_execution_id as string;
    await api(other, 'PATCH', `${path}/executions/${id}`, { operation: 'APPLY', comment: 'looks good' });
    const done = await waitForStatus(other, `${path}/executions/${id}`, [
      'SUCCESSFUL',
      'FAILED',
      'TERMINATED',
    ]);
    assert.equal(done.status, 'SUCCESSFUL', JSON.stringify(done));
    for (const s of [ran, other]) {
      const log = await api(s, 'GET', `${path}/executions/${id}/action_executions/${gate}/logs`);
      const why = `through the server that ${s === ran ? 'ran' : 'approved'} it: ${JSON.stringify(log)}`;
      assert.equal(log.logs.length, 3, why);
      assert.match(log.logs[0], /^Waiting for approval: Ship it\?/, why);
      assert.match(log.logs[2], /^Approved by .*: looks good$/, why);
      assert.equal(log.total_element_count, 3, why);
    }
  },
);
