/**
 * Package versions with several servers on one database, and on remote workers (issue 11), with real
 * processes and real Docker: a version uploaded through server A is downloaded through server B and
 * used by a run B claims (B unpacks it from the database); a run pinned to a version runs on a
 * `gantry worker`, which fetches the files from its server, and its action sees them read-only; a
 * worker session cannot fetch the package of an execution it does not hold.
 *
 * The database is the suite's: PostgreSQL in the PostgreSQL pass of scripts/test.sh, a SQLite file
 * shared by both servers otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tarGzOf } from '../support/archives.ts';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.ts';
import { makeRepo } from '../support/harness.ts';
import { removeDirs, waitFor } from '../support/runs.ts';
import {
  api,
  Cluster,
  ended,
  freePort,
  pipelineWith,
  startRun,
  tailsOf,
  type Call,
  type Proc,
} from '../support/workers.ts';

const onPostgres = testDatabaseKind() === 'postgres';
const keyDir = new Cluster();
let database: TestDatabase;
let cluster: Cluster;
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'hello\n' } }]);
const bases: string[] = [];
const servers: Proc[] = [];
const serverDirs: string[] = [];
let worker: (Proc & { dataDir: string }) | null = null;
let site: any;
let version: any;
let archive: Buffer;

const on = (i: number) => (method: string, apiPath: string, body?: unknown) =>
  api(bases[i]!, cluster.token, method, apiPath, body);

function explain(): string {
  return tailsOf({ 'server a': servers[0], 'server b': servers[1], w1: worker });
}

const finished = (call: Call, executionPath: string): Promise<any> => ended(call, executionPath, explain);
const run = (call: Call, pipelinePath: string): Promise<string> =>
  startRun(call, pipelinePath, { package_version: 'site:1.0.0' });

async function logOf(call: Call, executionPath: string, e: any): Promise<string[]> {
  const ae = e.action_executions[0].action_execution_id;
  return (await call('GET', `${executionPath}/action_executions/${ae}/logs?limit=1000`)).body.logs;
}

/** A raw GET on the worker protocol with the cluster's WORKER token and `session`. */
async function workerGet(apiPath: string, session: string | null): Promise<{ status: number; body: any }> {
  const res = await fetch(`${bases[0]}/api/workers${apiPath}`, {
    headers: {
      authorization: `Bearer ${cluster.token}`,
      ...(session ? { 'x-gantry-worker-session': session } : {}),
    },
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

const SHOW = [
  'cat /buddy/packages/site/hello.txt',
  'cat /buddy/packages/site/deep/dir/inner.txt',
  'if touch /buddy/packages/site/new 2>/dev/null; then echo WRITABLE; else echo READ-ONLY; fi',
].join('; ');

before(async () => {
  database = await createTestDatabase();
  const url = onPostgres ? database.url : `sqlite:${path.join(keyDir.dir, 'shared.db')}`;
  cluster = new Cluster({ secretKeyFile: path.join(keyDir.dir, 'secret.key') }, ['--database-url', url]);
  // A runs nothing itself; B has its own local runner.
  for (const [name, args] of [
    ['a', ['--no-local-worker']],
    ['b', []],
  ] as const) {
    const port = await freePort();
    bases.push(`http://127.0.0.1:${port}`);
    serverDirs.push(path.join(cluster.dir, `server-${name}`));
    servers.push(await cluster.startServer(serverDirs.at(-1)!, port, [...args]));
  }
  assert.equal((await on(0)('POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = { display_name: 'app', name: 'app', custom_repo_url: repo.dir };
  assert.equal((await on(0)('POST', '/workspaces/ws/projects', project)).status, 201);
  site = (await on(0)('POST', '/workspaces/ws/packages', { name: 'Site', identifier: 'site' })).body;
  archive = await tarGzOf([
    { name: 'hello.txt', content: 'hello from the package\n' },
    { name: 'deep/dir/inner.txt', content: 'inner file\n' },
  ]);
  const res = await fetch(`${bases[0]}/api/workspaces/ws/packages/${site.id}/versions?version=1.0.0`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/gzip' },
    body: archive,
  });
  version = await res.json();
  assert.equal(res.status, 201, JSON.stringify(version));
});

after(async () => {
  cluster?.cleanup();
  keyDir.cleanup();
  removeDirs(repo.dir);
  await database?.drop();
});

test(`a version uploaded through one server is served by another and used by a run it claims (${testDatabaseKind()})`, async () => {
  const onB = path.join(serverDirs[1]!, 'packages', site.id, version.id);
  assert.ok(!existsSync(onB), 'server B has no copy of the files before a run needs them');
  const download = await fetch(
    `${bases[1]}/api/workspaces/ws/packages/${site.id}/versions/${version.id}/download`,
    { headers: { authorization: `Bearer ${cluster.token}` } },
  );
  assert.equal(download.status, 200);
  assert.ok(
    Buffer.from(await download.arrayBuffer()).equals(archive),
    'B serves the archive as uploaded to A',
  );

  // Accepted by A, which runs nothing: B's local runner claims it (no worker is connected yet).
  const pipelinePath = await pipelineWith(on(0), 'app', { name: 'on-b' }, [SHOW]);
  const executionPath = await run(on(0), pipelinePath);
  const e = await finished(on(1), executionPath);
  assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
  assert.equal(e.worker, null, 'a server ran it');
  const log = await logOf(on(1), executionPath, e);
  assert.ok(log.includes('hello from the package'), log.join('\n'));
  assert.ok(log.includes('inner file'), log.join('\n'));
  assert.ok(log.includes('READ-ONLY'), log.join('\n'));
  assert.ok(
    log.some((l) => /^Package site:1\.0\.0 unpacked on this server from the database/.test(l)),
    log.join('\n'),
  );
  assert.ok(existsSync(onB), 'B unpacked the version into its own data directory');
});

test('a run pinned to a version runs on a remote worker: it fetches the files from its server and the action sees them', async () => {
  worker = await cluster.startWorker('w1', [bases[0]!], { tags: ['pkg'] });
  // Tagged: never a server's local runner.
  const pipelinePath = await pipelineWith(on(0), 'app', { name: 'on-worker', tags: ['pkg'] }, [SHOW]);
  const first = await run(on(0), pipelinePath);
  const e = await finished(on(0), first);
  assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
  assert.equal(e.worker, 'w1');
  const log = await logOf(on(0), first, e);
  assert.ok(log.includes('hello from the package'), log.join('\n'));
  assert.ok(log.includes('inner file'), log.join('\n'));
  assert.ok(log.includes('READ-ONLY'), log.join('\n'));
  const fetched = log.find((l) => l.startsWith('Package site:1.0.0: fetched from'));
  assert.ok(fetched, log.join('\n'));
  assert.match(
    fetched,
    new RegExp(`fetched from ${bases[0]}, ${archive.length} bytes \\(tar\\.gz, sha256 [0-9a-f]{16}…\\)`),
  );
  assert.ok(
    existsSync(path.join(worker.dataDir, 'packages', site.id, version.id, 'deep', 'dir', 'inner.txt')),
  );

  // The next run finds the files on the worker and says so.
  const second = await run(on(0), pipelinePath);
  const again = await finished(on(0), second);
  assert.equal(again.status, 'SUCCESSFUL', `${JSON.stringify(again)}\n${explain()}`);
  const log2 = await logOf(on(0), second, again);
  assert.ok(
    log2.includes('Package site:1.0.0: files already on this worker (fetched for an earlier run)'),
    log2.join('\n'),
  );
  assert.ok(log2.includes('hello from the package'), log2.join('\n'));
});

test('a worker session cannot fetch the package of an execution it does not hold', async () => {
  assert.ok(worker, 'the worker of the previous test');
  // w1 holds this run until the action finds the file "go" in its pipeline filesystem.
  const pipelinePath = await pipelineWith(on(0), 'app', { name: 'held', tags: ['pkg'] }, [
    'while [ ! -e go ]; do sleep 0.2; done; cat /buddy/packages/site/hello.txt',
  ]);
  const executionPath = await run(on(0), pipelinePath);
  const id = Number(executionPath.split('/').pop());
  await waitFor('the run to start on w1', async () => {
    const e = (await on(0)('GET', executionPath)).body;
    return e.action_executions[0].status === 'INPROGRESS' ? e : null;
  });
  const intruder = await fetch(`${bases[0]}/api/workers/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'intruder', tags: [], cpu: 'X64', concurrency: 1, version: 'x' }),
  });
  assert.equal(intruder.status, 200);
  const session = ((await intruder.json()) as { session: string }).session;
  try {
    const held = await workerGet(`/executions/${id}/package`, session);
    assert.equal(held.status, 409, JSON.stringify(held.body));
    assert.match(held.body.errors[0].message, /is not running on worker "intruder"/);
    const ended = await workerGet(`/executions/${id - 1}/package`, session);
    assert.equal(ended.status, 409, JSON.stringify(ended.body));
    const none = await workerGet(`/executions/999999/package`, session);
    assert.equal(none.status, 409, JSON.stringify(none.body));
    const bad = await workerGet('/executions/abc/package', session);
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.ok(bad.body.errors[0].message);
    const noSession = await workerGet(`/executions/${id}/package`, null);
    assert.equal(noSession.status, 400);
    assert.match(noSession.body.errors[0].message, /x-gantry-worker-session/);
  } finally {
    await fetch(`${bases[0]}/api/workers/unregister`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'x-gantry-worker-session': session },
    });
  }
  writeFileSync(path.join(worker.dataDir, 'pipelines', pipelinePath.split('/').pop()!, 'fs', 'go'), '');
  const e = await finished(on(0), executionPath);
  assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
  assert.ok((await logOf(on(0), executionPath, e)).includes('hello from the package'));
});

test('a worker removes the package copies it has not used for --package-keep-days and fetches one again when a run needs it', async () => {
  assert.ok(worker, 'the worker of the earlier tests');
  const exited = new Promise<number | null>((resolve) => worker!.child.once('exit', resolve));
  worker.child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const root = path.join(worker.dataDir, 'packages');
  const old = new Date(Date.now() - 10 * 24 * 3600_000);
  const versionDir = path.join(root, site.id, version.id);
  utimesSync(versionDir, old, old);
  // A copy of a version deleted on the server meanwhile, and one used lately.
  const gone = path.join(root, 'pkg-deleted', 'ver-deleted');
  const recent = path.join(root, 'pkg-recent', 'ver-recent');
  for (const dir of [gone, recent]) mkdirSync(dir, { recursive: true });
  utimesSync(gone, old, old);

  worker = await cluster.startWorker('w1', [bases[0]!], {
    tags: ['pkg'],
    dataDir: worker.dataDir,
    args: ['--package-keep-days', '7'],
  });
  await waitFor('the worker to remove the copies unused for 10 days', async () =>
    !existsSync(versionDir) && !existsSync(gone) ? true : null,
  );
  assert.ok(existsSync(recent), 'a copy used lately stays');

  const pipelinePath = await pipelineWith(on(0), 'app', { name: 'after-prune', tags: ['pkg'] }, [SHOW]);
  const executionPath = await run(on(0), pipelinePath);
  const e = await finished(on(0), executionPath);
  assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
  const log = await logOf(on(0), executionPath, e);
  assert.ok(
    log.some((l) => l.startsWith('Package site:1.0.0: fetched from')),
    log.join('\n'),
  );
  assert.ok(log.includes('hello from the package'), log.join('\n'));
});
