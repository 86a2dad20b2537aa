/**
 * Two `gantry serve --no-local-worker` processes on one database with two `gantry worker` processes,
 * each worker given both servers: runs accepted by either server spread over both workers; tags route
 * runs; when the server a worker talks to is SIGKILLed mid-action, the worker goes on with the other
 * one and no line of the log is lost; when a worker is SIGKILLed mid-action, the surviving server
 * takes its lease and ends the run FAILED, saying why, without running anything again. A run queued
 * through the server a worker does not wait at reaches it through NOTIFY on PostgreSQL (the servers'
 * safety look at the queue is set to 600 s here), through the servers' 2 s look on SQLite.
 *
 * The database is the suite's: PostgreSQL in the PostgreSQL pass of scripts/test.sh, a SQLite file
 * shared by both servers otherwise (there each server keeps the logs it received in its own data
 * directory; on PostgreSQL any server serves any log).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.ts';
import { makeRepo } from '../support/harness.ts';
import { containersWith, removeDirs, runningContainersWith, waitFor } from '../support/runs.ts';
import {
  api,
  Cluster,
  ended,
  freePort,
  pipelineWith,
  startRun,
  tailsOf,
  workerLabel,
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
const workers: Record<string, Proc & { dataDir: string }> = {};
/** Servers still running (one is SIGKILLed by a test). */
const alive = new Set([0, 1]);

const on = (i: number) => (method: string, apiPath: string, body?: unknown) =>
  api(bases[i]!, cluster.token, method, apiPath, body);
/** A server that is still up. */
const any = (): Call => on([...alive][0]!);

/** The end of what each process said, for a failure message. */
function explain(): string {
  return tailsOf({ 'server a': servers[0], 'server b': servers[1], w1: workers.w1, w2: workers.w2 });
}

/** Rethrows a failed wait with what the processes said. */
function explained(err: Error): never {
  throw new Error(`${err.message}\n${explain()}`);
}

const finished = (call: Call, executionPath: string): Promise<any> => ended(call, executionPath, explain);
const run = (call: Call, pipelinePath: string): Promise<string> => startRun(call, pipelinePath);

/** Whether server `i`'s data directory holds a log file of `actionExecutionId` containing `text`. */
function logFileHas(i: number, actionExecutionId: string, text: string): boolean {
  try {
    return readFileSync(path.join(serverDirs[i]!, 'logs', `${actionExecutionId}.log`), 'utf8').includes(text);
  } catch {
    return false;
  }
}

/** Server `i`'s log line saying it handed execution `id` to a worker, or null. */
function handedOut(i: number, id: number): { worker: string; found: string } | null {
  for (const line of (servers[i]?.output() ?? '').split('\n')) {
    if (!line.includes('execution handed to a worker')) continue;
    try {
      const entry = JSON.parse(line) as { execution: number; worker: string; found: string };
      if (entry.execution === id) return entry;
    } catch {
      // Not a JSON line.
    }
  }
  return null;
}

/** The file an action waiting in `while [ ! -e <name> ]` waits for, in the pipeline filesystem on `worker`. */
function release(worker: string, pipelinePath: string, name: string): void {
  const pipelineId = pipelinePath.split('/').pop()!;
  writeFileSync(path.join(workers[worker]!.dataDir, 'pipelines', pipelineId, 'fs', name), '');
}

before(async () => {
  database = await createTestDatabase();
  const url = onPostgres ? database.url : `sqlite:${path.join(keyDir.dir, 'shared.db')}`;
  cluster = new Cluster({ secretKeyFile: path.join(keyDir.dir, 'secret.key'), queuePollSeconds: 600 }, [
    '--database-url',
    url,
    '--no-local-worker',
    // The servers' "execution handed to a worker" lines say how each claim found its run.
    '--log-level',
    'info',
  ]);
  for (const name of ['a', 'b']) {
    const port = await freePort();
    bases.push(`http://127.0.0.1:${port}`);
    serverDirs.push(path.join(cluster.dir, `server-${name}`));
    // One after the other: the first creates the secret key and the admin, the second finds both.
    servers.push(await cluster.startServer(serverDirs.at(-1)!, port));
  }
  assert.equal((await on(0)('POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = { display_name: 'app', name: 'app', custom_repo_url: repo.dir };
  assert.equal((await on(1)('POST', '/workspaces/ws/projects', project)).status, 201);
  workers.w1 = await cluster.startWorker('w1', [bases[0]!, bases[1]!], { tags: ['blue'] });
  workers.w2 = await cluster.startWorker('w2', [bases[1]!, bases[0]!]);
});

after(async () => {
  cluster?.cleanup();
  keyDir.cleanup();
  removeDirs(repo.dir);
  await database?.drop();
});

test(`runs accepted by either server spread over both workers (${testDatabaseKind()})`, async () => {
  const spread = await pipelineWith(on(0), 'app', { name: 'spread', concurrent_pipeline_runs: true }, [
    'echo "read $(cat a.txt)"\nsleep 2',
  ]);
  const paths: string[] = [];
  for (let i = 0; i < 4; i++) paths.push(await run(on(i % 2), spread));
  // Each server answers for every run, whichever accepted it.
  const ended = await Promise.all(paths.map((p, i) => finished(on(1 - (i % 2)), p)));
  for (const e of ended) assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
  assert.deepEqual(new Set(ended.map((e) => e.worker)), new Set(['w1', 'w2']), explain());
  if (onPostgres) {
    // Any server serves any log: each run's log from the server that did not accept it.
    for (const [i, e] of ended.entries()) {
      const ae = e.action_executions[0].action_execution_id;
      const logs = (await on(1 - (i % 2))('GET', `${paths[i]}/action_executions/${ae}/logs`)).body.logs;
      assert.ok(logs.includes('read hello'), JSON.stringify(logs));
    }
  }
});

test('tags route runs to the worker holding them, whichever server accepted them', async () => {
  const blue = await pipelineWith(on(1), 'app', { name: 'blue', tags: ['blue'] }, ['echo blue']);
  // One after the other: a run of this one-at-a-time pipeline queued behind a newer one is SKIPPED.
  for (const i of [0, 1]) {
    const e = await finished(on(1 - i), await run(on(i), blue));
    assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
    assert.equal(e.worker, 'w1');
  }
});

test(`a run queued through the other server reaches a worker waiting at this one (${onPostgres ? 'NOTIFY wakes its claim' : 'the 2 s look'})`, async () => {
  const wake = await pipelineWith(on(0), 'app', { name: 'wake', tags: ['blue'] }, ['echo woken']);
  const seen: string[] = [];
  // w1 waits for work at one of the servers (usually a, the first of its list): a run queued through
  // the other one. With the safety look at 600 s, on PostgreSQL only a NOTIFY can wake its claim.
  for (let attempt = 0, via = 1; attempt < 4; attempt++) {
    const p = await run(on(via), wake);
    const e = await finished(on(via), p);
    assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
    const at = [0, 1].find((i) => handedOut(i, e.id) !== null);
    assert.ok(at !== undefined, `no server handed out execution ${e.id}\n${explain()}`);
    const how = handedOut(at, e.id)!;
    seen.push(
      `execution ${e.id}: queued through ${'ab'[via]}, handed to ${how.worker} by ${'ab'[at]} (${how.found})`,
    );
    assert.equal(how.worker, 'w1', seen.join('\n'));
    // w1 waits at the server that accepted it: queue the next one through the other.
    if (at === via) via = 1 - via;
    // w1's long-poll ended just as the run came (its next request found it at once): again.
    else if (how.found === 'at once') continue;
    else {
      const expected = onPostgres ? ['woken'] : ['look', 'woken'];
      assert.ok(expected.includes(how.found), `${seen.join('\n')}\n${explain()}`);
      return;
    }
  }
  assert.fail(`no run reached w1 through the server it does not wait at:\n${seen.join('\n')}\n${explain()}`);
});

test('SIGKILL of the server a worker talks to: it goes on with the other server and no log line is lost', async () => {
  // The first action prints two lines, each after a file the test writes into the pipeline filesystem
  // on the worker, and ends after a third: the test decides when each happens, so nothing depends on
  // how fast anything is. The server is killed once both lines are in its log, before the action's
  // end is reported: the other server never received the log.
  const survivor = await pipelineWith(on(0), 'app', { name: 'survivor', worker: 'w1' }, [
    'echo before\nwhile [ ! -e go ]; do sleep 0.2; done\necho after\nwhile [ ! -e end ]; do sleep 0.2; done',
    'echo second',
  ]);
  const p = await run(on(0), survivor);
  const first = (await on(0)('GET', p)).body.action_executions[0].action_execution_id as string;
  // The server the worker talks to is the one whose data directory holds the log: usually the first
  // of its --server list, but a call that failed earlier (a reset connection) moves it on.
  const name = await waitFor('the first line at one of the servers', () =>
    logFileHas(0, first, 'before\n') ? 'a' : logFileHas(1, first, 'before\n') ? 'b' : null,
  ).catch(explained);
  const talksTo = name === 'a' ? 0 : 1;
  const other = 1 - talksTo;
  release('w1', survivor, 'go');
  await waitFor('the second line at the same server', () => logFileHas(talksTo, first, 'after\n')).catch(
    explained,
  );
  servers[talksTo]!.child.kill('SIGKILL');
  alive.delete(talksTo);
  release('w1', survivor, 'end');
  const e = await finished(on(other), p);
  const logs = async (i: number): Promise<string[]> =>
    (await on(other)('GET', `${p}/action_executions/${e.action_executions[i].action_execution_id}/logs`)).body
      .logs;
  const seen = { execution: e, logs: [await logs(0), await logs(1)] };
  const why = `server ${name} killed; at the other: ${JSON.stringify(seen)}\n${explain()}`;
  assert.equal(e.status, 'SUCCESSFUL', why);
  assert.equal(e.worker, 'w1', why);
  // The other server held none of the first log when the action's end reached it: it asked for it.
  assert.deepEqual(seen.logs, [['before', 'after'], ['second']], why);
});

test('SIGKILL of a worker mid-action: the surviving server takes its lease, the run ends FAILED saying why, nothing runs again', async () => {
  const doomed = await pipelineWith(any(), 'app', { name: 'doomed', worker: 'w2' }, [
    'echo started\nsleep 600',
    'echo never',
  ]);
  const p = await run(any(), doomed);
  const label = `gantry.instance=${workerLabel('w2', workers.w2!.dataDir)}`;
  const e0 = await waitFor('the action to run', async () => {
    const e = (await any()('GET', p)).body;
    return e.action_executions[0].status === 'INPROGRESS' &&
      runningContainersWith(label, `gantry.execution=${e.id}`).length === 1
      ? e
      : null;
  }).catch(explained);
  workers.w2!.child.kill('SIGKILL');
  const e = await finished(any(), p);
  const why = `${JSON.stringify(e)}\n${explain()}`;
  assert.equal(e.status, 'FAILED', why);
  assert.match(e.error_message, /worker "w2" stopped sending heartbeats .*lease expired/, why);
  assert.equal(e.action_executions[0].status, 'FAILED', why);
  assert.equal(e.action_executions[1].status, 'NOT_EXECUTED', why);
  // The restarted worker removes the container its previous process left; the run stays ended.
  workers.w2 = await cluster.startWorker('w2', [bases[1]!, bases[0]!], { dataDir: workers.w2!.dataDir });
  await waitFor('the orphaned container to be removed', () => containersWith(label).length === 0);
  const again = (await any()('GET', p)).body;
  assert.equal(again.status, 'FAILED', 'the execution was not run again');
  assert.equal(again.action_executions[1].status, 'NOT_EXECUTED');
  assert.equal((await any()('GET', `${doomed}/executions`)).body.total_element_count, 1);
  assert.equal(e0.id, e.id);
});
