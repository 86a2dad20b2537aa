import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  createHostedRepository,
  handleGitHttp,
  isPushRequest,
  resolveRevision,
  syncMirror,
} from '../../src/repo/index.ts';

// Async on purpose: the server under test runs in this process, a sync child would deadlock it.
const run = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gantry-git-http-'));
const root = path.join(tmp, 'repos');
const bare = path.join(root, 'ws', 'proj.git');
const work = path.join(tmp, 'clone');
let server: Server;
let base = '';
const seen = { pushes: 0, gzipped: 0 };

/** git as a client: no prompts, no credential helpers, no user or system config. */
function git(args: string[], cwd = tmp): Promise<{ stdout: string }> {
  return run('git', ['-c', 'credential.helper=', ...args], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: tmp,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Pusher',
      GIT_AUTHOR_EMAIL: 'pusher@example.com',
      GIT_COMMITTER_NAME: 'Pusher',
      GIT_COMMITTER_EMAIL: 'pusher@example.com',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}

before(async () => {
  await createHostedRepository(bare);
  server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const [, password] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (!auth.startsWith('Basic ') || password !== 'secret-token') {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Gantry"' }).end('unauthorized\n');
      return;
    }
    // Raw path on purpose: new URL() would normalise "..", hiding what handleGitHttp must refuse.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const [pathInfo, query] = q < 0 ? [raw, ''] : [raw.slice(0, q), raw.slice(q + 1)];
    if (isPushRequest(pathInfo, query)) seen.pushes++;
    if (req.headers['content-encoding'] === 'gzip') seen.gzipped++;
    void handleGitHttp({
      projectRoot: root,
      pathInfo,
      method: req.method ?? 'GET',
      query,
      contentType: req.headers['content-type'],
      contentEncoding: req.headers['content-encoding'],
      remoteUser: 'x',
      body: req,
      res,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('clone an empty hosted repository, push a commit, fetch it back', async () => {
  await git(['clone', '--quiet', `http://x:secret-token@${base}/ws/proj.git`, work]);
  writeFileSync(path.join(work, 'README.md'), '# hello\n');
  writeFileSync(path.join(work, 'big.bin'), randomBytes(3 * 1024 * 1024)); // several request chunks
  await git(['add', '-A'], work);
  await git(['commit', '--quiet', '-m', 'first'], work);
  await git(['push', '--quiet', 'origin', 'master'], work);

  const pushed = (await git(['rev-parse', 'HEAD'], work)).stdout.trim();
  assert.equal((await git(['--git-dir', bare, 'rev-parse', 'refs/heads/master'])).stdout.trim(), pushed);
  assert.ok(seen.pushes >= 2, 'info/refs and git-receive-pack were both seen as pushes');

  const second = path.join(tmp, 'clone2');
  await git(['clone', '--quiet', `http://x:secret-token@${base}/ws/proj.git`, second]);
  assert.equal((await git(['rev-parse', 'HEAD'], second)).stdout.trim(), pushed);
});

test('a push without credentials is refused', async () => {
  const before = (await git(['--git-dir', bare, 'rev-parse', 'refs/heads/master'])).stdout.trim();
  writeFileSync(path.join(work, 'README.md'), '# changed\n');
  await git(['commit', '--quiet', '-am', 'second'], work);
  await assert.rejects(git(['push', '--quiet', `http://${base}/ws/proj.git`, 'master'], work));
  await assert.rejects(git(['push', '--quiet', `http://x:wrong@${base}/ws/proj.git`, 'master'], work));
  assert.equal((await git(['--git-dir', bare, 'rev-parse', 'refs/heads/master'])).stdout.trim(), before);
});

test('gzip request bodies are inflated by http-backend', async () => {
  // git gzips upload-pack requests over 1 KiB; send a small one by hand to be sure the path works.
  const head = (await git(['--git-dir', bare, 'rev-parse', 'refs/heads/master'])).stdout.trim();
  const pkt = (line: string): string => (line.length + 4).toString(16).padStart(4, '0') + line;
  const body = gzipSync(pkt(`want ${head}\n`) + '0000' + pkt('done\n'));
  const [host, port] = base.split(':');
  const reply = await new Promise<{ status: number; type: string; data: Buffer }>((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        method: 'POST',
        path: '/ws/proj.git/git-upload-pack',
        auth: 'x:secret-token',
        headers: { 'Content-Type': 'application/x-git-upload-pack-request', 'Content-Encoding': 'gzip' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            data: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject).end(body);
  });
  assert.equal(reply.status, 200);
  assert.equal(reply.type, 'application/x-git-upload-pack-result');
  assert.equal(reply.data.subarray(0, 8).toString(), '0008NAK\n');
  assert.ok(reply.data.includes('PACK'));
  assert.ok(seen.gzipped > 0);
});

test('syncMirror authenticates over http without putting credentials in the URL or errors', async () => {
  const mirror = path.join(tmp, 'mirror.git');
  const url = `http://${base}/ws/proj.git`;
  await syncMirror({ mirrorPath: mirror, sourceUrl: url, user: 'x', pass: 'secret-token' });
  const head = (await git(['--git-dir', bare, 'rev-parse', 'refs/heads/master'])).stdout.trim();
  assert.equal((await resolveRevision(mirror, {}, null)).sha, head);
  await assert.rejects(
    syncMirror({ mirrorPath: mirror, sourceUrl: url, user: 'x', pass: 'wrong-token' }),
    (e: Error) => {
      assert.ok(!e.message.includes('wrong-token'), e.message);
      return /Authentication failed/.test(e.message);
    },
  );
  await assert.rejects(syncMirror({ mirrorPath: mirror, sourceUrl: url }), /could not read Username/);
});

test('paths leaving the project root and unknown repositories', async () => {
  const status = (p: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const [host, port] = base.split(':');
      const req = request({ host, port, path: p, auth: 'x:secret-token' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject).end();
    });
  assert.equal(await status('/ws/../../etc/info/refs?service=git-upload-pack'), 400);
  assert.equal(await status('/ws/%2e%2e/proj.git/info/refs?service=git-upload-pack'), 404);
  assert.equal(await status('/ws/missing.git/info/refs?service=git-upload-pack'), 404);
  assert.equal(await status('/ws/proj.git/info/refs?service=git-upload-pack'), 200);
});

test('isPushRequest', () => {
  assert.equal(isPushRequest('/ws/p.git/info/refs', 'service=git-receive-pack'), true);
  assert.equal(isPushRequest('/ws/p.git/git-receive-pack', ''), true);
  assert.equal(
    isPushRequest('/ws/p.git/info/refs', 'service=git-upload-pack&service=git-receive-pack'),
    true,
  );
  assert.equal(isPushRequest('/ws/p.git/info/refs', 'service=git-upload-pack'), false);
  assert.equal(isPushRequest('/ws/p.git/git-upload-pack', ''), false);
});
