/**
 * `gantry backup` while the server runs and `gantry restore` into an empty data directory: the
 * restored server shows the same workspaces, projects, pipelines, executions and logs, serves the
 * same hosted repository, and still opens the sealed secrets with the same key.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, git, makeRepo, TEST_IMAGE } from '../support/harness.ts';
import { removeInstanceContainers, removeDirs, waitFor } from '../support/runs.ts';
import { runGantry, serveGantry, type Served } from './support.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gantry-backup-'));
const source = path.join(tmp, 'source');
const restored = path.join(tmp, 'restored');
const servers: Served[] = [];
const work = makeRepo([{ message: 'first', files: { 'a.txt': 'from the hosted repository\n' } }]);

after(() => {
  for (const s of servers)
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  for (const d of [source, restored]) removeInstanceContainers(d);
  removeDirs(tmp, work.dir);
});

let port = 0;
let token = '';

async function api(method: string, apiPath: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}/api${apiPath}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${apiPath}: ${res.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}

async function start(dataDir: string): Promise<Served> {
  const s = await serveGantry(['--data-dir', dataDir, '--port', String(port), '--log-level', 'warn']);
  servers.push(s);
  return s;
}

async function stop(s: Served): Promise<void> {
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0, s.output());
}

const pipelinePath = '/workspaces/ws/projects/site/pipelines';

/** Runs pipeline `id` and returns the finished execution. */
async function run(id: number): Promise<any> {
  const e = await api('POST', `${pipelinePath}/${id}/executions`, {});
  return waitFor(
    'the execution to end',
    async () => {
      const now = await api('GET', `${pipelinePath}/${id}/executions/${e.id}`);
      return ['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(now.status) ? now : null;
    },
    120_000,
  );
}

/** Everything a user would compare after a restore, as the API shows it. */
async function snapshot(pipelineId: number, executionId: number, aeid: string): Promise<unknown> {
  const base = `${pipelinePath}/${pipelineId}/executions/${executionId}`;
  return {
    workspaces: await api('GET', '/workspaces'),
    projects: await api('GET', '/workspaces/ws/projects'),
    pipelines: await api('GET', pipelinePath),
    executions: await api('GET', `${pipelinePath}/${pipelineId}/executions`),
    execution: await api('GET', base),
    logs: await api('GET', `${base}/action_executions/${aeid}/logs`),
    variables: await api('GET', '/workspaces/ws/variables'),
  };
}

test('a backup taken while the server runs restores into an empty data directory with everything in it', async () => {
  port = await freePort();
  mkdirSync(source);
  const first = await start(source);
  token = readFileSync(path.join(source, 'admin.token'), 'utf8').trim();
  await api('POST', '/workspaces', { name: 'WS', domain: 'ws' });
  await api('POST', '/workspaces/ws/projects', { display_name: 'site', name: 'site' });
  git(work.dir, 'push', '-q', `http://x:${token}@127.0.0.1:${port}/git/ws/site.git`, 'HEAD:master');
  await api('POST', '/workspaces/ws/variables', {
    key: 'DEPLOY_KEY',
    value: 'sealed-value-42',
    type: 'VAR',
    encrypted: true,
  });
  const pipeline = await api('POST', pipelinePath, { name: 'Checks', refs: ['refs/heads/master'] });
  await api('POST', `${pipelinePath}/${pipeline.id}/actions`, {
    name: 'reads repo and secret',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    // The secret is compared, never printed: logs would mask it anyway.
    inline_commands: 'cat a.txt\n[ "$DEPLOY_KEY" = sealed-value-42 ] && echo secret-opens',
  });
  const execution = await run(pipeline.id);
  assert.equal(execution.status, 'SUCCESSFUL');
  const aeid = execution.action_executions[0].action_execution_id;
  const before = await snapshot(pipeline.id, execution.id, aeid);
  assert.deepEqual((before as any).logs.logs, ['from the hosted repository', 'secret-opens']);

  // While the server runs.
  const archive = path.join(tmp, 'gantry.tar.gz');
  const backup = await runGantry(['backup', archive, '--all', '--data-dir', source]);
  assert.equal(backup.code, 0, backup.stderr);
  assert.match(backup.stdout, /The secret key is not in it/);
  await stop(first);

  // Not into a data directory that holds anything.
  const busy = path.join(tmp, 'busy');
  mkdirSync(busy);
  writeFileSync(path.join(busy, 'something'), '');
  const refused = await runGantry(['restore', archive, '--data-dir', busy]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^gantry: the data directory .* is not empty/);
  // Not with another key: its secrets could never be opened.
  const otherKey = path.join(tmp, 'other.key');
  writeFileSync(otherKey, Buffer.alloc(32, 1).toString('base64') + '\n', { mode: 0o600 });
  const wrongKey = await runGantry([
    'restore',
    archive,
    '--data-dir',
    path.join(tmp, 'wrong'),
    '--secret-key',
    otherKey,
  ]);
  assert.equal(wrongKey.code, 2);
  assert.match(wrongKey.stderr, /not the one this backup's secrets were sealed with/);
  assert.deepEqual(readdirSync(path.join(tmp, 'wrong')), [], 'a failed restore leaves the directory empty');

  const restore = await runGantry([
    'restore',
    archive,
    '--data-dir',
    restored,
    '--secret-key',
    path.join(source, 'secret.key'),
  ]);
  assert.equal(restore.code, 0, restore.stderr);
  const second = await start(restored);
  assert.deepEqual(await snapshot(pipeline.id, execution.id, aeid), before);
  // The hosted repository came along, and the sealed secret opens with the same key.
  const again = await run(pipeline.id);
  assert.equal(again.status, 'SUCCESSFUL', second.output());
  const logs = await api(
    'GET',
    `${pipelinePath}/${pipeline.id}/executions/${again.id}/action_executions/${again.action_executions[0].action_execution_id}/logs`,
  );
  assert.deepEqual(logs.logs, ['from the hosted repository', 'secret-opens']);
  await stop(second);
});
