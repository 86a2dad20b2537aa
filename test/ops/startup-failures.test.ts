/**
 * Every bad start ends at once with one line on stderr saying what is wrong (and how to fix it where
 * we know) and exit code 2 — never a hang, a stack trace, or a server that half started.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/harness.ts';
import { runGantry, serveGantry, type Finished } from './support.ts';

const dirs: string[] = [];
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'gantry-startup-'));
  dirs.push(d);
  return d;
}

/** One line on stderr starting "gantry: ", exit 2, and the server never said it was running. */
function assertOneLineFailure(r: Finished, ...phrases: RegExp[]): string {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.doesNotMatch(r.stdout, /Gantry is running/);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^gantry: /);
  for (const p of phrases) assert.match(lines[0]!, p);
  return lines[0]!;
}

async function serve(dataDir: string, ...args: string[]): Promise<Finished> {
  return runGantry(['serve', '--data-dir', dataDir, '--port', String(await freePort()), ...args]);
}

const isRoot = process.getuid?.() === 0;

test('a data directory on /proc is refused instead of hanging', async () => {
  assertOneLineFailure(await serve('/proc/gantry-nope'), /\/proc\/gantry-nope/, /proc kernel filesystem/);
});

test('a data directory the user may not write is refused', async () => {
  const parent = tempDir();
  chmodSync(parent, 0o755);
  // Root may write anywhere, so the server runs as nobody there; otherwise the directory is made read-only.
  const as = isRoot ? { uid: 65534, gid: 65534 } : {};
  if (!isRoot) chmodSync(parent, 0o555);
  cleanups.push(() => chmodSync(parent, 0o755));
  const port = String(await freePort());
  const existing = await runGantry(['serve', '--data-dir', parent, '--port', port], as);
  assertOneLineFailure(existing, /not writable: permission denied/);
  const missing = await runGantry(['serve', '--data-dir', path.join(parent, 'a', 'b'), '--port', port], as);
  assertOneLineFailure(missing, /cannot be created: permission denied/);
});

test('a data directory on a read-only filesystem is refused', async (t) => {
  if (!isRoot) return t.skip('mounting a read-only filesystem needs root');
  const mountPoint = tempDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mountPoint]);
  cleanups.push(() => execFileSync('umount', [mountPoint]));
  assertOneLineFailure(await serve(mountPoint), /not writable: the filesystem is read-only/);
  assertOneLineFailure(
    await serve(path.join(mountPoint, 'sub')),
    /cannot be created: the filesystem is read-only/,
  );
});

test('a port in use is one line', async () => {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => blocker.close());
  const r = await runGantry(['serve', '--data-dir', tempDir(), '--port', String(port)]);
  assertOneLineFailure(r, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
});

test('an unreachable Docker engine is one line that says how to start one', async () => {
  assertOneLineFailure(
    await serve(tempDir(), '--docker-host', 'unix:///nonexistent/docker.sock'),
    /Docker engine at unix:\/\/\/nonexistent\/docker\.sock does not answer/,
    /start one \(systemctl start docker, or dockerd/,
  );
  assertOneLineFailure(
    await serve(tempDir(), '--docker-host', `tcp://127.0.0.1:${await freePort()}`),
    /does not answer \(connect ECONNREFUSED/,
  );
});

test('git missing from PATH is one line that says how to install it', async () => {
  const emptyBin = tempDir();
  const r = await runGantry(['serve', '--data-dir', tempDir(), '--port', String(await freePort())], {
    env: { PATH: emptyBin },
  });
  assertOneLineFailure(r, /git is not installed or not on PATH/, /apt-get install git/);
});

test('a database URL of an unknown scheme or one that cannot be opened is one line without its password', async () => {
  const unknown = assertOneLineFailure(
    await serve(tempDir(), '--database-url', 'mysql://gantry:hunter2secret@127.0.0.1/gantry'),
    /cannot open the database mysql:\/\/gantry:\*\*\*@127\.0\.0\.1\/gantry/,
  );
  assert.doesNotMatch(unknown, /hunter2secret/);
  const closedPort = await freePort();
  const pg = assertOneLineFailure(
    await serve(
      tempDir(),
      '--database-url',
      `postgres://gantry:hunter2secret@127.0.0.1:${closedPort}/gantry`,
    ),
    /cannot open the database postgres:\/\/gantry:\*\*\*@/,
  );
  assert.doesNotMatch(pg, /hunter2secret/);
  const file = path.join(tempDir(), 'a-file');
  writeFileSync(file, 'not a directory');
  assertOneLineFailure(
    await serve(tempDir(), '--database-url', `sqlite:${file}/gantry.db`),
    /database directory .*a-file is not a directory/,
  );
});

test('a secret key that is not the one the database was sealed with is one line', async () => {
  const dataDir = tempDir();
  const port = String(await freePort());
  const first = await serveGantry(['--data-dir', dataDir, '--port', port]);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);
  writeFileSync(path.join(dataDir, 'secret.key'), Buffer.alloc(32, 7).toString('base64') + '\n', {
    mode: 0o600,
  });
  assertOneLineFailure(
    await runGantry(['serve', '--data-dir', dataDir, '--port', port]),
    /secret key .*secret\.key is not the key this database's secrets were sealed with/,
  );
});

test('a configuration that is not valid is one line', async () => {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'd'));
  assertOneLineFailure(
    await serve(path.join(dir, 'd'), '--metrics-listen', 'nowhere'),
    /metricsListen "nowhere"/,
  );
  assertOneLineFailure(
    await serve(path.join(dir, 'd'), '--drain-timeout-seconds', 'soon'),
    /drainTimeoutSeconds/,
  );
});
