/** `gantry --version`, `gantry doctor` and the log format, through the real CLI. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GANTRY_VERSION } from '../../src/ops/version.ts';
import { freePort } from '../support/harness.ts';
import { removeDirs } from '../support/runs.ts';
import { runGantry, serveGantry } from './support.ts';

const dirs: string[] = [];
after(() => removeDirs(...dirs));
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'gantry-cli-'));
  dirs.push(d);
  return d;
}

test('gantry --version prints the version', async () => {
  const r = await runGantry(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), GANTRY_VERSION);
});

test('gantry doctor reports a healthy machine and exits 0', async () => {
  const r = await runGantry(['doctor', '--data-dir', tempDir()]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok +node: Node v\d+/m);
  assert.match(r.stdout, /^ok +git: git \d/m);
  assert.match(r.stdout, /^ok +docker: engine \S+, API 1\.\d+/m);
  assert.match(r.stdout, /^ok +clock: this machine and the Docker engine differ by \d/m);
  assert.match(r.stdout, /^ok +disk: \d+ MB free/m);
  assert.match(r.stdout, /No problems found\.\n$/);
});

test('gantry doctor prints each problem with its fix and exits 1', async () => {
  const r = await runGantry([
    'doctor',
    '--data-dir',
    '/proc/gantry-doctor',
    '--docker-host',
    `tcp://127.0.0.1:${await freePort()}`,
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^PROBLEM docker: the engine at tcp:\/\/127\.0\.0\.1:\d+ does not answer/m);
  assert.match(r.stdout, /^ +fix: start one \(systemctl start docker/m);
  assert.match(
    r.stdout,
    /^PROBLEM data directory: \/proc\/gantry-doctor would be on the proc kernel filesystem/m,
  );
  assert.match(r.stdout, /2 problems found\.\n$/);
  const noGit = await runGantry(['doctor', '--data-dir', tempDir()], { env: { PATH: tempDir() } });
  assert.equal(noGit.code, 1);
  assert.match(noGit.stdout, /^PROBLEM git: git is not installed or not on PATH/m);
});

test('logs are JSON lines when stdout is not a terminal, readable with --log-format pretty', async () => {
  for (const [format, json] of [
    ['auto', true],
    ['pretty', false],
  ] as const) {
    const s = await serveGantry([
      '--data-dir',
      tempDir(),
      '--port',
      String(await freePort()),
      '--log-format',
      format,
    ]);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    const logLines = s
      .output()
      .split('\n')
      .filter((l) => /listening|stopping/i.test(l));
    assert.ok(logLines.length >= 2, s.output());
    for (const line of logLines) {
      if (json) assert.equal(typeof JSON.parse(line).msg, 'string');
      else {
        assert.throws(() => JSON.parse(line));
        assert.match(line, /INFO/);
      }
    }
  }
});
