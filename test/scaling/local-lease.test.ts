/**
 * The lease of a server's local runner: two `gantry serve` processes on one database, both running
 * actions themselves. When the one running an action is SIGKILLed and stays dead, the other takes its
 * lease once it expires, ends the run FAILED, saying the server that ran it stopped, and removes the
 * dead server's container (they share this Docker engine); nothing runs again. The killed server,
 * started again, changes nothing.
 *
 * The database is the suite's: PostgreSQL in the PostgreSQL pass of scripts/test.sh, a SQLite file
 * shared by both servers otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.ts';
import { makeRepo } from '../support/harness.ts';
import {
  instanceLabel,
  removeInstanceContainers,
  removeDirs,
  runningContainersWith,
  waitFor,
} from '../support/runs.ts';
import { api, Cluster, freePort, pipelineWith, type Proc } from '../support/workers.ts';

const keyDir = new Cluster();
let database: TestDatabase;
let cluster: Cluster;
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'hello\n' } }]);
const ports: number[] = [];
const servers: Proc[] = [];
const serverDirs: string[] = [];

const on = (i: number) => (method: string, apiPath: string, body?: unknown) =>
  api(`http://127.0.0.1:${ports[i]}`, cluster.token, method, apiPath, body);

function explain(): string {
  return servers.map((s, i) => `--- server ${'ab'[i]}:\n${s.output().slice(-4000)}`).join('\n');
}

before(async () => {
  database = await createTestDatabase();
  const url =
    testDatabaseKind() === 'postgres' ? database.url : `sqlite:${path.join(keyDir.dir, 'shared.db')}`;
  cluster = new Cluster({ secretKeyFile: path.join(keyDir.dir, 'secret.key') }, ['--database-url', url]);
  for (const name of ['a', 'b']) {
    ports.push(await freePort());
    serverDirs.push(path.join(cluster.dir, `server-${name}`));
    servers.push(await cluster.startServer(serverDirs.at(-1)!, ports.at(-1)!));
  }
  assert.equal((await on(0)('POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = { display_name: 'app', name: 'app', custom_repo_url: repo.dir };
  assert.equal((await on(0)('POST', '/workspaces/ws/projects', project)).status, 201);
});

after(async () => {
  try {
    for (const dir of serverDirs) removeInstanceContainers(dir);
  } finally {
    cluster?.cleanup();
  }
  keyDir.cleanup();
  removeDirs(repo.dir);
  await database?.drop();
});

test(`a server that dies for good: the other ends its local run FAILED once its lease expires, and runs nothing again (${testDatabaseKind()})`, async () => {
  const doomed = await pipelineWith(on(0), 'app', { name: 'doomed' }, [
    'echo started\nsleep 600',
    'echo never',
  ]);
  const res = await on(1)('POST', `${doomed}/executions`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const p = `${doomed}/executions/${res.body.id}`;
  // Either server may have claimed it: the one whose container runs it.
  const ran = await waitFor('the action to run on one of the servers', () => {
    const at = serverDirs.findIndex(
      (dir) =>
        runningContainersWith(`gantry.instance=${instanceLabel(dir)}`, `gantry.execution=${res.body.id}`)
          .length === 1,
    );
    return at >= 0 ? { at } : null;
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${explain()}`);
  });
  const other = 1 - ran.at;
  servers[ran.at]!.child.kill('SIGKILL');
  await new Promise((resolve) => servers[ran.at]!.child.once('exit', resolve));
  const e = await waitFor(
    'the surviving server to end the run',
    async () => {
      const e = (await on(other)('GET', p)).body;
      return e.status === 'INPROGRESS' ? null : e;
    },
    120_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${explain()}`);
  });
  const why = `${JSON.stringify(e)}\n${explain()}`;
  assert.equal(e.status, 'FAILED', why);
  assert.match(e.error_message, /the server that ran it stopped sending heartbeats .*lease expired/, why);
  assert.equal(e.action_executions[0].status, 'FAILED', why);
  assert.match(e.action_executions[0].error_message, /the server that ran it stopped/, why);
  assert.equal(e.action_executions[1].status, 'NOT_EXECUTED', why);
  // The servers share this Docker engine: the survivor removed the dead one's container with its lease.
  await waitFor(
    "the dead server's container to be removed by the survivor",
    () => runningContainersWith(`gantry.instance=${instanceLabel(serverDirs[ran.at]!)}`).length === 0,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${explain()}`);
  });
  await waitFor('the survivor to log the removal', () =>
    /removed a container left by server local:[0-9a-f]{16}, whose lease expired/.test(
      servers[other]!.output(),
    ),
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${explain()}`);
  });
  // Started again on its data directory, the killed server changes nothing.
  servers[ran.at] = await cluster.startServer(serverDirs[ran.at]!, ports[ran.at]!);
  const again = (await on(ran.at)('GET', p)).body;
  assert.equal(again.status, 'FAILED', 'the execution was not run again');
  assert.equal(again.error_message, e.error_message);
  assert.equal((await on(ran.at)('GET', `${doomed}/executions`)).body.total_element_count, 1);
});
