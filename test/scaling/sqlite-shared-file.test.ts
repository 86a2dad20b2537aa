/**
 * Two `gantry serve` processes on one SQLite file, both running actions: under concurrent writes
 * through both (runs accepted, runs claimed and ended, variables and pipelines written, logs read)
 * no request answers 500 (SQLITE_BUSY was one); a write that cannot get the database answers 503 with
 * Retry-After, and every accepted run ends SUCCESSFUL, run once. SQLite pass only (on PostgreSQL the
 * other scaling tests cover two servers).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { testDatabaseKind } from '../support/database.ts';
import { makeRepo } from '../support/harness.ts';
import { removeInstanceContainers, removeDirs, waitFor } from '../support/runs.ts';
import { Cluster, freePort, pipelineWith, type Proc } from '../support/workers.ts';

const onSqlite = testDatabaseKind() === 'sqlite';
const keyDir = new Cluster();
let cluster: Cluster;
const repo = makeRepo([{ message: 'first', files: { 'a.txt': 'hello\n' } }]);
const bases: string[] = [];
const servers: Proc[] = [];
const serverDirs: string[] = [];

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
}

/** An API call; a connection that failed (the server crashed) answers status 0 with the error. */
async function call(i: number, method: string, apiPath: string, body?: unknown): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(`${bases[i]}/api${apiPath}`, {
      method,
      headers: {
        authorization: `Bearer ${cluster.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    return { status: 0, retryAfter: null, body: String((err as Error).cause ?? err) };
  }
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: text ? JSON.parse(text) : null,
  };
}

const explain = (): string =>
  servers.map((s, i) => `--- server ${'ab'[i]}:\n${s.output().slice(-3000)}`).join('\n');

before(async () => {
  if (!onSqlite) return;
  cluster = new Cluster({ maxConcurrentExecutions: 3, secretKeyFile: path.join(keyDir.dir, 'secret.key') }, [
    '--database-url',
    `sqlite:${path.join(keyDir.dir, 'shared.db')}`,
  ]);
  for (const name of ['a', 'b']) {
    const port = await freePort();
    bases.push(`http://127.0.0.1:${port}`);
    serverDirs.push(path.join(cluster.dir, `server-${name}`));
    servers.push(await cluster.startServer(serverDirs.at(-1)!, port));
  }
});

after(() => {
  keyDir.cleanup();
  if (!onSqlite) return;
  try {
    for (const dir of serverDirs) removeInstanceContainers(dir);
  } finally {
    cluster.cleanup();
  }
  removeDirs(repo.dir);
});

test(
  'two servers on one SQLite file: concurrent writes through both never answer 500',
  { skip: !onSqlite },
  async () => {
    assert.equal((await call(0, 'POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
    const project = { display_name: 'app', name: 'app', custom_repo_url: repo.dir };
    assert.equal((await call(1, 'POST', '/workspaces/ws/projects', project)).status, 201);
    const on = (i: number) => (method: string, apiPath: string, body?: unknown) =>
      call(i, method, apiPath, body);
    const busy = await pipelineWith(on(0), 'app', { name: 'busy', concurrent_pipeline_runs: true }, [
      'seq 1 2000',
    ]);
    const pipelineId = busy.split('/').pop();
    const answers: { what: string; answer: Answer }[] = [];
    const note = async (what: string, answer: Promise<Answer>): Promise<Answer> => {
      const a = await answer;
      answers.push({ what, answer: a });
      return a;
    };
    const later = new Date(Date.now() + 3600_000).toISOString();
    const work: Promise<Answer>[] = [];
    for (let i = 0; i < 40; i++) {
      const s = i % 2;
      // Runs that start at once (claimed, run and ended by both servers) and runs held by delay_until.
      if (i < 12) work.push(note(`run ${i}`, call(s, 'POST', `${busy}/executions`, {})));
      work.push(note(`delayed run ${i}`, call(s, 'POST', `${busy}/executions`, { delay_until: later })));
      work.push(
        note(
          `variable ${i}`,
          call(s, 'POST', '/workspaces/ws/variables', { key: `V${i}`, value: String(i), type: 'VAR' }),
        ),
      );
      work.push(note(`pipeline ${i}`, call(s, 'PATCH', busy, { name: `busy-${i}` })));
      work.push(note(`list ${i}`, call(1 - s, 'GET', `${busy}/executions?per_page=5`)));
    }
    await Promise.all(work);
    const why = (list: typeof answers) =>
      `${list.map((a) => `${a.what}: ${a.answer.status} ${JSON.stringify(a.answer.body)}`).join('\n')}\n${explain()}`;
    const failed = answers.filter(
      (a) => a.answer.status === 0 || (a.answer.status >= 500 && a.answer.status !== 503),
    );
    assert.deepEqual(failed, [], why(failed));
    const unavailable = answers.filter((a) => a.answer.status === 503);
    for (const a of unavailable) assert.match(a.answer.retryAfter ?? '', /^[0-9]+$/, why(unavailable));
    const accepted = answers.filter((a) => a.what.startsWith('run ') && a.answer.status === 200);
    const ids = accepted.map((a) => a.answer.body.id as number);
    // Every run accepted ends SUCCESSFUL, with its whole log.
    const ended = await waitFor(
      'the runs to end',
      async () => {
        const all = await Promise.all(
          ids.map(async (id) => (await call(0, 'GET', `${busy}/executions/${id}`)).body),
        );
        return all.every((e) => ['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(e.status)) ? all : null;
      },
      180_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${explain()}`));
    for (const e of ended) {
      assert.equal(e.status, 'SUCCESSFUL', `${JSON.stringify(e)}\n${explain()}`);
      assert.equal(e.action_executions[0].log_lines ?? 2000, 2000);
    }
    assert.ok(pipelineId);
  },
);
