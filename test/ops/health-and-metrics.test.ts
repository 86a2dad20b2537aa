/**
 * /healthz, /readyz, /api/version, the Server header and /metrics, in-process against a real Gantry
 * (SQLite file, Docker engine, git).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { GANTRY_VERSION } from '../../src/ops/version.ts';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.ts';
import type { ContainerRuntime } from '../../src/runtime/container-runtime.ts';
import { createGantry } from '../../src/server.ts';
import { addAction, freePort, makeRepo, setupPipeline, startGantry } from '../support/harness.ts';
import { removeDirs, runToEnd } from '../support/runs.ts';

const repo = makeRepo([{ message: 'only', files: { 'a.txt': 'a\n' } }]);
after(() => removeDirs(repo.dir));

/** The value of one sample (`name{labels}`) in a Prometheus text exposition; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/healthz, /api/version and the Server header answer without a token', async () => {
  const h = await startGantry();
  try {
    const health = await h.request('GET', '/healthz', undefined, { token: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    assert.equal(health.headers.server, `Gantry/${GANTRY_VERSION}`);
    const version = await h.request('GET', '/api/version', undefined, { token: null });
    assert.deepEqual(version.body, { version: GANTRY_VERSION });
    assert.match(GANTRY_VERSION, /^\d+\.\d+\.\d+/);
    // Every API answer carries it, errors included.
    const refused = await h.request('GET', '/api/workspaces', undefined, { token: null });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.server, `Gantry/${GANTRY_VERSION}`);
  } finally {
    await h.close();
  }
});

test('/readyz is 200 when everything answers and 503 naming the dependency that does not, with nothing sensitive', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-ready-'));
  const docker = new DockerRuntime({ dockerHost: '/var/run/docker.sock' });
  let engineDown = false;
  // The real engine, except that its ping can be made to fail after the start.
  const runtime = new Proxy(docker, {
    get(target, prop, receiver) {
      if (prop === 'ping' && engineDown)
        return () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock'));
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as ContainerRuntime;
  const config = loadConfig({ flags: { dataDir, logLevel: 'silent' } });
  const gantry = await createGantry(config, { logger: false, runtime });
  try {
    const ok = await gantry.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), {
      status: 'ready',
      checks: { database: 'ok', docker: 'ok', disk: 'ok', server: 'ok' },
    });
    engineDown = true;
    const down = await gantry.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().status, 'not ready');
    assert.equal(down.json().checks.docker, 'the Docker engine does not answer');
    assert.equal(down.json().checks.database, 'ok');
    for (const secret of [dataDir, 'docker.sock', 'ENOENT']) assert.ok(!down.body.includes(secret), secret);
  } finally {
    await gantry.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  // Too little free space: a minimum no disk meets.
  const h = await startGantry({ config: { minFreeDiskMb: 1_000_000_000 } });
  try {
    const full = await h.request('GET', '/readyz', undefined, { token: null });
    assert.equal(full.status, 503);
    assert.match(
      full.body.checks.disk,
      /^\d+ MB free in the data directory, below the 1000000000 MB minimum$/,
    );
    assert.ok(!JSON.stringify(full.body).includes(h.dataDir));
  } finally {
    await h.close();
  }
});

test('/metrics needs an unrestricted admin token and counts executions, actions, queue wait, logs and HTTP requests', async () => {
  const h = await startGantry();
  try {
    assert.equal((await h.request('GET', '/metrics', undefined, { token: null })).status, 401);
    const { pipelinePath } = await setupPipeline(h, repo.dir);
    await addAction(h, pipelinePath, { name: 'prints', inline_commands: 'echo hello metrics' });
    const restricted = await h.request('POST', '/api/user/tokens', {
      name: 'one-workspace',
      scopes: ['WORKSPACE', 'EXECUTION_INFO'],
      workspace_restrictions: ['ws'],
    });
    assert.equal(restricted.status, 201, JSON.stringify(restricted.body));
    const refused = await h.request('GET', '/metrics', undefined, { token: restricted.body.token });
    assert.equal(refused.status, 403);

    const before = (await h.request('GET', '/metrics')).body as string;
    assert.equal(sample(before, 'gantry_executions_finished_total{status="SUCCESSFUL"}'), undefined);
    const { execution } = await runToEnd(h, pipelinePath);
    assert.equal(execution.status, 'SUCCESSFUL');
    await h.request('GET', `${pipelinePath}/executions/${execution.id}`);

    const res = await h.request('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body as string;
    assert.equal(sample(text, 'gantry_executions_finished_total{status="SUCCESSFUL"}'), 1);
    assert.equal(sample(text, 'gantry_queue_wait_seconds_count'), 1);
    assert.equal(
      sample(text, 'gantry_action_duration_seconds_count{type="RUN_DOCKER_CONTAINER",status="SUCCESSFUL"}'),
      1,
    );
    assert.ok(sample(text, 'gantry_log_bytes_written_total')! >= 'hello metrics\n'.length);
    assert.equal(sample(text, 'gantry_queue_length{state="queued"}'), 0);
    assert.equal(sample(text, 'gantry_executions_running'), 0);
    assert.equal(sample(text, 'gantry_running_containers'), 0);
    assert.equal(sample(text, 'gantry_docker_up'), 1);
    // Labelled by the route pattern (parameter names are the API's), never by the raw URL.
    assert.match(
      text,
      /^gantry_http_requests_total\{method="GET",route="\/api\/workspaces\/:\w+\/projects\/:\w+\/pipelines\/:\w+\/executions\/:\w+",status="200"\} [1-9]/m,
    );
    assert.doesNotMatch(text, new RegExp(`route="[^"]*/executions/${execution.id}"`));
    assert.equal(sample(text, 'gantry_http_requests_total{method="GET",route="/metrics",status="403"}'), 1);
    assert.ok(sample(text, 'process_resident_memory_bytes')! > 0);
    // A scrape counts each event once.
    const again = (await h.request('GET', '/metrics')).body as string;
    assert.equal(sample(again, 'gantry_executions_finished_total{status="SUCCESSFUL"}'), 1);
  } finally {
    await h.close();
  }
});

test('metricsListen serves /metrics on its own address without a token; off serves it nowhere', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-metrics-'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const config = loadConfig({
    flags: { dataDir, port, logLevel: 'silent', metricsListen: `127.0.0.1:${metricsPort}` },
  });
  const gantry = await createGantry(config, { logger: false, listen: true });
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^# HELP gantry_/m);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/api/workspaces`)).status, 404);
    // Not on the API port as well.
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
  } finally {
    await gantry.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const h = await startGantry({ config: { metricsListen: 'off' } });
  try {
    assert.equal((await h.request('GET', '/metrics')).status, 404);
    assert.equal((await h.request('GET', '/healthz')).status, 200);
  } finally {
    await h.close();
  }
});
