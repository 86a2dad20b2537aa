import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Modules only some set-ups need stay unloaded until used (idle memory, README "Idle memory"): the
 * PostgreSQL driver on SQLite, pino-pretty for JSON logs, dockerode's ssh2 (ssh:// Docker hosts) and
 * gRPC (BuildKit sessions). Checked in a fresh process, which loads what a server loads at start.
 */
function loadedAfter(script: string): string[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

const LIST_LOADED = `
  const moduleApi = await import('node:module');
  console.log(JSON.stringify(Object.keys(moduleApi.createRequire(import.meta.url).cache)));`;

const packageOf = (file: string): string | undefined =>
  /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];

test('a server on SQLite with JSON logs loads neither pg, pino-pretty, ssh2 nor gRPC', () => {
  const loaded = loadedAfter(`
    await import('./src/server.ts');
    const { createLogger } = await import('./src/ops/logger.ts');
    createLogger({ level: 'info', format: 'json', stdoutIsTty: false });
    const { openDatabase } = await import('./src/store/database.ts');
    const { mkdtempSync } = await import('node:fs');
    const db = await openDatabase('', mkdtempSync('/tmp/gantry-lazy-modules-'));
    await db.destroy();
    ${LIST_LOADED}`);
  const packages = new Set(loaded.map(packageOf));
  assert.ok(packages.has('dockerode') && packages.has('docker-modem'), 'dockerode itself is not loaded');
  assert.ok(packages.has('better-sqlite3'));
  for (const lazy of ['pg', 'pino-pretty', 'ssh2', '@grpc/grpc-js', 'protobufjs'])
    assert.ok(!packages.has(lazy), `${lazy} was loaded at start`);
});

test("dockerode's deferred parts load at their first call and work", () => {
  const loaded = loadedAfter(`
    await import('./src/runtime/docker/docker-runtime.ts');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const modem = createRequire(createRequire(require.resolve('dockerode')).resolve('docker-modem'));
    const agent = modem('./ssh')({ host: '127.0.0.1', port: 1, username: 'nobody' });
    const http = await import('node:http');
    if (!(agent instanceof http.Agent)) throw new Error('ssh agent is not an http.Agent');
    agent.destroy();
    const { createLogger } = await import('./src/ops/logger.ts');
    createLogger({ level: 'info', format: 'pretty', stdoutIsTty: false });
    const { pgDriver } = await import('./src/store/pg-driver.ts');
    if (typeof pgDriver().Pool !== 'function') throw new Error('no pg.Pool');
    ${LIST_LOADED}`);
  const packages = new Set(loaded.map(packageOf));
  for (const used of ['ssh2', 'pino-pretty', 'pg'])
    assert.ok(packages.has(used), `${used} did not load when used`);
});
