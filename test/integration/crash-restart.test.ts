/**
 * Crash safety with the real server process: `kill -9` while an action runs, start again on the same
 * data directory, and every execution ends truthfully — the interrupted one FAILED saying why, with its
 * container gone, and the one still queued runs to SUCCESSFUL.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeRepo, NO_MOUNTS, TEST_IMAGE } from '../support/harness.ts';
import {
  containersWith,
  executionLabels,
  instanceLabel,
  removeInstanceContainers,
  removeDirs,
  runningContainersWith,
  waitFor,
} from '../support/runs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-crash-'));
const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);
const servers: ChildProcess[] = [];
// custom_repo_url may name local repositories only under allowedRepositoryRoots.
const configFile = path.join(dataDir, '..', `${path.basename(dataDir)}.json`);
writeFileSync(configFile, JSON.stringify({ allowedRepositoryRoots: [os.tmpdir()] }));
let port = 0;
let token = '';

after(() => {
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  // Only a failed test leaves something here; the assertion in the test is what matters.
  removeInstanceContainers(dataDir);
  removeDirs(dataDir, repo.dir, configFile);
});

/** Starts `gantry serve` as a child process and waits until its API answers. */
async function startServer(): Promise<{ child: ChildProcess; output: () => string }> {
  let output = '';
  const child = spawn(
    process.execPath,
    [
      'bin/gantry.js',
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--log-level',
      'warn',
      '--max-concurrent-executions',
      '2',
      '--cancel-grace-seconds',
      '60',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...NO_MOUNTS, GANTRY_CONFIG: configFile },
    },
  );
  servers.push(child);
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const tokenFile = path.join(dataDir, 'admin.token');
  await waitFor(
    () => `the server to start (output: ${output})`,
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
      if (!existsSync(tokenFile)) return false;
      token = readFileSync(tokenFile, 'utf8').trim();
      try {
        return (
          (
            await fetch(`http://127.0.0.1:${port}/api/workspaces`, {
              headers: { authorization: `Bearer ${token}` },
            })
          ).status === 200
        );
      } catch {
        return false;
      }
    },
  );
  return { child, output: () => output };
}

async function api(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/api${apiPath}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

async function pipelineWith(project: string, name: string, commands: string): Promise<string> {
  const p = await api('POST', `/workspaces/ws/projects/${project}/pipelines`, { name });
  assert.equal(p.status, 201);
  const pipelinePath = `/workspaces/ws/projects/${project}/pipelines/${p.body.id}`;
  const a = await api('POST', `${pipelinePath}/actions`, {
    name,
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: commands,
  });
  assert.equal(a.status, 201);
  return pipelinePath;
}

test('after kill -9 and a restart, interrupted executions end truthfully, their containers are gone, and the queued one runs', async () => {
  port = await freePort();
  const first = await startServer();
  assert.equal((await api('POST', '/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = { display_name: 'crash', name: 'crash', custom_repo_url: repo.dir };
  assert.equal((await api('POST', '/workspaces/ws/projects', project)).status, 201);
  const sleeping = await pipelineWith('crash', 'sleeps-forever', 'echo started\nsleep 600');
  const cancelling = await pipelineWith('crash', 'being-cancelled', 'sleep 600');
  const quick = await pipelineWith('crash', 'writes-ok', 'echo ok > ok.txt\ncat ok.txt');

  const running = await startedExecution(sleeping);
  const aeid = running.body.action_executions[0].action_execution_id;
  await waitFor(
    'the first line of output',
    async () => (await api('GET', `${running.path}/action_executions/${aeid}/logs`)).body.logs.length === 1,
  );
  const stopping = await startedExecution(cancelling);
  // Both slots (max-concurrent-executions 2) are taken: this one waits in the queue.
  const queued = await api('POST', `${quick}/executions`, {});
  assert.equal(queued.status, 200);
  const queuedPath = `${quick}/executions/${queued.body.id}`;
  assert.equal((await api('GET', queuedPath)).body.status, 'ENQUEUED');
  // A cancel in its grace period (sleep ignores SIGTERM, the grace is 60 s) when the server dies.
  api('PATCH', stopping.path, { operation: 'CANCEL' }).catch(() => undefined);
  await waitFor(
    'the cancel to begin',
    async () => (await api('GET', stopping.path)).body.status === 'TERMINATING',
  );

  first.child.kill('SIGKILL');
  await waitFor('the server to die', () => first.child.signalCode !== null);
  // The crash left both containers running: what recovery has to clean up.
  assert.equal(runningContainersWith(...running.labels).length, 1);
  assert.equal(runningContainersWith(...stopping.labels).length, 1);

  const second = await startServer();
  const interrupted = await finished(running.path);
  assert.equal(interrupted.status, 'FAILED');
  assert.match(interrupted.error_message, /restart/);
  assert.ok(interrupted.finish_date);
  assert.equal(interrupted.action_executions[0].status, 'FAILED');
  assert.match(interrupted.action_executions[0].error_message, /restart/);
  assert.deepEqual(containersWith(...running.labels), []);
  assert.equal((await api('GET', sleeping)).body.last_execution_status, 'FAILED');
  // What the action printed before the crash is still there, and counted.
  const before = await api('GET', `${running.path}/action_executions/${aeid}/logs`);
  assert.deepEqual(before.body.logs, ['started']);
  assert.equal(before.body.total_element_count, 1);

  // Someone asked for this one to stop: it ends TERMINATED, not FAILED.
  const cancelled = await finished(stopping.path);
  assert.equal(cancelled.status, 'TERMINATED');
  assert.match(cancelled.error_message, /restart/);
  assert.equal(cancelled.action_executions[0].status, 'TERMINATED');
  assert.deepEqual(containersWith(...stopping.labels), []);

  const ran = await finished(queuedPath);
  assert.equal(ran.status, 'SUCCESSFUL', second.output());
  const logs = await api(
    'GET',
    `${queuedPath}/action_executions/${ran.action_executions[0].action_execution_id}/logs`,
  );
  assert.deepEqual(logs.body.logs, ['ok']);

  // A clean stop leaves nothing behind either.
  second.child.kill('SIGTERM');
  await waitFor(
    'the server to stop',
    () => second.child.exitCode !== null || second.child.signalCode !== null,
  );
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(dataDir)}`), []);
});

test('a kill -9 after the first container was made during the checkout and before it started: after a restart it is gone, the run FAILED, nothing ran', async () => {
  const server = await startServer();
  // A checkout from scratch (refresh) of this many files outlasts the making of the first container by
  // far, so the container is seen made and not started while the checkout still runs.
  const files: Record<string, string> = {};
  for (let i = 0; i < 4000; i += 1) files[`d${i % 40}/f${i}.txt`] = `${i}\n`;
  const big = makeRepo([{ message: 'many files', files }]);
  try {
    const project = { display_name: 'slow', name: 'slow', custom_repo_url: big.dir };
    assert.equal((await api('POST', '/workspaces/ws/projects', project)).status, 201);
    const p = await api('POST', '/workspaces/ws/projects/slow/pipelines', { name: 'marks' });
    const pipelinePath = `/workspaces/ws/projects/slow/pipelines/${p.body.id}`;
    const marker = path.join(dataDir, 'pipelines', String(p.body.id), 'fs', 'ran-marker');
    const a = await api('POST', `${pipelinePath}/actions`, {
      name: 'marks',
      type: 'RUN_DOCKER_CONTAINER',
      ...TEST_IMAGE,
      inline_commands: 'touch ran-marker',
    });
    assert.equal(a.status, 201);

    let caught: { path: string; labels: string[] } | null = null;
    for (let attempt = 0; attempt < 3 && caught === null; attempt += 1) {
      const res = await api('POST', `${pipelinePath}/executions`, { refresh: true });
      assert.equal(res.status, 200);
      const labels = executionLabels(dataDir, res.body.id);
      const executionPath = `${pipelinePath}/executions/${res.body.id}`;
      const state = await waitFor('the first container', () => {
        const [id] = containersWith(...labels);
        return id === undefined ? undefined : containerState(id);
      });
      if (state === 'created') {
        server.child.kill('SIGKILL');
        await waitFor('the server to die', () => server.child.signalCode !== null);
        caught = { path: executionPath, labels };
      } else {
        // The checkout was quicker than the poll this time (a very busy machine): try again.
        assert.equal((await finished(executionPath)).status, 'SUCCESSFUL');
        rmSync(marker, { force: true });
      }
    }
    assert.ok(caught, 'the first container was seen made and not started');
    // Made, never started: what the crash left for recovery.
    const [left] = containersWith(...caught.labels);
    assert.equal(containerState(left!), 'created');

    const again = await startServer();
    const interrupted = await finished(caught.path);
    assert.equal(interrupted.status, 'FAILED');
    assert.match(interrupted.error_message, /restart/);
    assert.equal(interrupted.action_executions[0].status, 'NOT_EXECUTED');
    assert.deepEqual(containersWith(...caught.labels), []);
    assert.equal(existsSync(marker), false, 'the action never ran');

    // The pipeline runs as before afterwards, once.
    const next = await api('POST', `${pipelinePath}/executions`, {});
    const ran = await finished(`${pipelinePath}/executions/${next.body.id}`);
    assert.equal(ran.status, 'SUCCESSFUL', again.output());
    assert.equal(existsSync(marker), true);
    again.child.kill('SIGTERM');
    await waitFor(
      'the server to stop',
      () => again.child.exitCode !== null || again.child.signalCode !== null,
    );
    assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(dataDir)}`), []);
  } finally {
    removeDirs(big.dir);
  }
});

/** The engine's state of a container (created, running, exited...), '' once it is gone. */
function containerState(id: string): string {
  try {
    return execFileSync('docker', ['inspect', '--format', '{{.State.Status}}', id], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

/** Runs a pipeline and waits until its container runs. */
async function startedExecution(
  pipelinePath: string,
): Promise<{ body: any; path: string; labels: string[] }> {
  const res = await api('POST', `${pipelinePath}/executions`, {});
  assert.equal(res.status, 200);
  const labels = executionLabels(dataDir, res.body.id);
  await waitFor('the container to run', () => runningContainersWith(...labels).length === 1);
  const executionPath = `${pipelinePath}/executions/${res.body.id}`;
  assert.equal((await api('GET', executionPath)).body.status, 'INPROGRESS');
  return { body: res.body, path: executionPath, labels };
}

/** Waits for an execution's final status and returns it. */
async function finished(executionPath: string): Promise<any> {
  return waitFor(
    `${executionPath} to end`,
    async () => {
      const e = (await api('GET', executionPath)).body;
      return ['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(e.status) ? e : null;
    },
    60_000,
  );
}
