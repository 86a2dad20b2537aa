/**
 * Tokens never reach the server log (issue 8, item 3): `?access_token=` (what browsers' SSE clients send)
 * is redacted in every request line, and so is any Authorization header that a log line carries.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../src/config/config.ts';
import { createGantry, type Gantry } from '../../src/server.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    done();
  },
});
const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
let gantry: Gantry;
let token: string;

before(async () => {
  const config = loadConfig({ flags: { dataDir, port: 8080, logLevel: 'trace' } });
  gantry = await createGantry(config, { logger: pino({ level: 'trace' }, sink) });
  token = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
});

after(async () => {
  await gantry.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('access_token in the query and Authorization headers are redacted in every log line', async () => {
  const wrong = 'gty_notARealTokenButStillASecret123';
  const requests = [
    { url: `/api/workspaces?access_token=${token}` },
    { url: `/workspaces?page=1&access_token=${token}&per_page=5` },
    { url: `/api/workspaces?access_token=${wrong}` },
    { url: '/api/user', headers: { authorization: `Bearer ${token}` } },
    { url: '/api/nowhere', headers: { authorization: `Bearer ${wrong}` } },
  ];
  for (const r of requests) await gantry.app.inject({ method: 'GET', ...r });
  gantry.app.log.info({ headers: { authorization: `Bearer ${token}` } }, 'a line that carries headers');

  assert.ok(lines.length >= requests.length, 'the requests were logged');
  for (const line of lines) {
    assert.ok(!line.includes(token), `token in the log: ${line}`);
    assert.ok(!line.includes(wrong), `a wrong token in the log: ${line}`);
  }
  const urls = lines.map((l) => JSON.parse(l) as { req?: { url?: string } }).map((l) => l.req?.url);
  assert.ok(urls.includes('/api/workspaces?access_token=[REDACTED]'), JSON.stringify(urls));
  assert.ok(urls.includes('/api/workspaces?page=1&access_token=[REDACTED]&per_page=5'), JSON.stringify(urls));
});
