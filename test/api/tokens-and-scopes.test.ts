import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { firstAdmin, createToken } from '../../src/store/identity.ts';
import { databaseArgs, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';
import { assertBuddyError, snapshotRows } from '../support/api.ts';

const run = promisify(execFile);
const GANTRY_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/gantry.js');

const ACTION = { name: 'Test', type: 'RUN_DOCKER_CONTAINER', ...TEST_IMAGE, inline_commands: 'true' };
const A = '/api/workspaces/team-a/projects/app';
let h: Harness;
let actionsPath: string;

/** Creates a token through the API with the admin token and returns the clear value. */
async function newToken(body: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', '/api/user/tokens', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.match(res.body.token, /\S{20,}/);
  return res.body.token;
}

/** Runs the real CLI entry point in a child process (the server keeps running in this one). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Only PATH and HOME: a stray GANTRY_* variable in the caller's environment must not leak in.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  try {
    const { stdout, stderr } = await run(process.execPath, [GANTRY_BIN, ...args], {
      env,
      cwd: path.dirname(GANTRY_BIN),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

before(async () => {
  h = await startGantry();
  for (const domain of ['team-a', 'team-b']) {
    assert.equal((await h.request('POST', '/api/workspaces', { name: domain, domain })).status, 201);
    assert.equal(
      (await h.request('POST', `/api/workspaces/${domain}/projects`, { display_name: 'App', name: 'app' }))
        .status,
      201,
    );
  }
  const pipeline = await h.request('POST', `${A}/pipelines`, { name: 'Build' });
  assert.equal(pipeline.status, 201);
  actionsPath = `${A}/pipelines/${pipeline.body.id}/actions`;
});

after(async () => {
  await h.close();
});

describe('authentication', () => {
  test('no token, an unknown token and an expired token are refused with 401', async () => {
    const admin = await firstAdmin(h.gantry.db);
    const expired = await createToken(h.gantry.db, {
      userId: admin!.id,
      name: 'expired',
      scopes: ['WORKSPACE'],
      ipRestrictions: [],
      workspaceRestrictions: [],
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    for (const [label, token] of [
      ['no token', null],
      ['unknown token', 'gty_not-a-real-token'],
      ['expired token', expired.token],
    ] as const) {
      const res = await h.request('GET', '/api/workspaces', undefined, { token });
      assert.equal(res.status, 401, label);
      assertBuddyError(res.body, label);
    }
    const viaQuery = await h.request(
      'GET',
      `/api/workspaces?access_token=${encodeURIComponent(expired.token)}`,
      undefined,
      { token: null },
    );
    assert.equal(viaQuery.status, 401);
  });

  test('?access_token= works like the Authorization header', async () => {
    const res = await h.request(
      'GET',
      `/api/workspaces?access_token=${encodeURIComponent(h.token)}`,
      undefined,
      { token: null },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.workspaces.map((w: { domain: string }) => w.domain),
      ['team-a', 'team-b'],
    );
  });

  test('a token with a future expiry works until then', async () => {
    const token = await newToken({ name: 'short-lived', scopes: ['WORKSPACE'], expires_in: 3600 });
    assert.equal((await h.request('GET', '/api/workspaces', undefined, { token })).status, 200);
  });

  test('a token restricted to other addresses is refused', async () => {
    const token = await newToken({
      name: 'office only',
      scopes: ['WORKSPACE'],
      ip_restrictions: ['10.0.0.0/8'],
    });
    const res = await h.request('GET', '/api/workspaces', undefined, { token });
    assert.equal(res.status, 403);
    assertBuddyError(res.body);
    const local = await newToken({
      name: 'loopback',
      scopes: ['WORKSPACE'],
      ip_restrictions: ['127.0.0.0/8'],
    });
    assert.equal((await h.request('GET', '/api/workspaces', undefined, { token: local })).status, 200);
  });
});

describe('scopes', () => {
  test('a token without EXECUTION_MANAGE cannot add, change or delete actions', async () => {
    const created = await h.request('POST', actionsPath, ACTION);
    assert.equal(created.status, 201);
    const reader = await newToken({ name: 'reader', scopes: ['WORKSPACE', 'EXECUTION_INFO'] });

    const before = await snapshotRows(h.gantry.db);
    const add = await h.request('POST', actionsPath, ACTION, { token: reader });
    assert.equal(add.status, 403);
    assertBuddyError(add.body);
    assert.match(add.body.errors[0].message, /EXECUTION_MANAGE/);
    const patch = await h.request(
      'PATCH',
      `${actionsPath}/${created.body.id}`,
      { name: 'hijacked' },
      { token: reader },
    );
    assert.equal(patch.status, 403);
    assertBuddyError(patch.body);
    const del = await h.request('DELETE', `${actionsPath}/${created.body.id}`, undefined, { token: reader });
    assert.equal(del.status, 403);
    assertBuddyError(del.body);
    assert.deepEqual(await snapshotRows(h.gantry.db), before);

    // What it holds, it can do.
    const list = await h.request('GET', actionsPath, undefined, { token: reader });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.actions.map((a: { id: number }) => a.id),
      [created.body.id],
    );
  });

  test('a token cannot hand out scopes it does not hold', async () => {
    const manager = await newToken({ name: 'token manager', scopes: ['TOKEN_MANAGE', 'WORKSPACE'] });
    const res = await h.request(
      'POST',
      '/api/user/tokens',
      { name: 'escalated', scopes: ['WORKSPACES_MANAGE'] },
      { token: manager },
    );
    assert.equal(res.status, 400);
    assertBuddyError(res.body);
    const ok = await h.request(
      'POST',
      '/api/user/tokens',
      { name: 'narrower', scopes: ['WORKSPACE'] },
      { token: manager },
    );
    assert.equal(ok.status, 201);
  });
});

describe('workspace restrictions', () => {
  test('a token restricted to one workspace neither sees nor reaches another', async () => {
    const token = await newToken({
      name: 'team a only',
      scopes: ['WORKSPACE', 'EXECUTION_INFO', 'EXECUTION_MANAGE', 'WORKSPACES_MANAGE', 'TOKEN_MANAGE'],
      workspace_restrictions: ['team-a'],
    });

    const list = await h.request('GET', '/api/workspaces', undefined, { token });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.workspaces.map((w: { domain: string }) => w.domain),
      ['team-a'],
    );
    assert.equal((await h.request('GET', '/api/workspaces/team-a', undefined, { token })).status, 200);
    assert.equal((await h.request('GET', `${A}/pipelines`, undefined, { token })).status, 200);

    const before = await snapshotRows(h.gantry.db);
    for (const [method, url, body] of [
      ['GET', '/api/workspaces/team-b', undefined],
      ['GET', '/api/workspaces/team-b/projects', undefined],
      ['GET', '/api/workspaces/team-b/projects/app', undefined],
      ['GET', '/api/workspaces/team-b/projects/app/pipelines', undefined],
      ['POST', '/api/workspaces/team-b/projects/app/pipelines', { name: 'sneaky' }],
      ['PATCH', '/api/workspaces/team-b', { name: 'taken over' }],
      ['DELETE', '/api/workspaces/team-b', undefined],
      ['POST', '/api/workspaces', { name: 'new', domain: 'team-c' }],
      ['POST', '/api/user/tokens', { name: 'wider', scopes: ['WORKSPACE'] }],
      [
        'POST',
        '/api/user/tokens',
        { name: 'other', scopes: ['WORKSPACE'], workspace_restrictions: ['team-b'] },
      ],
    ] as const) {
      const res = await h.request(method, url, body, { token });
      assert.ok(
        [400, 403, 404].includes(res.status),
        `${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`,
      );
      if (url !== '/api/user/tokens')
        assert.ok(res.status === 403 || res.status === 404, `${method} ${url}: ${res.status}`);
      assertBuddyError(res.body, `${method} ${url}`);
    }
    assert.deepEqual(await snapshotRows(h.gantry.db), before);
    // A workspace that does not exist looks the same as one the token may not see.
    const missing = await h.request('GET', '/api/workspaces/no-such-ws', undefined, { token });
    const hidden = await h.request('GET', '/api/workspaces/team-b', undefined, { token });
    assert.equal(missing.status, hidden.status);
  });
});

describe('workspace restrictions follow the workspace, not its domain', () => {
  test('renaming or deleting a workspace never opens another one to a restricted token', async () => {
    assert.equal(
      (await h.request('POST', '/api/workspaces', { name: 'Old', domain: 'old-name' })).status,
      201,
    );
    const token = await newToken({
      name: 'old-name only',
      scopes: ['WORKSPACE'],
      workspace_restrictions: ['old-name'],
    });
    const domains = async (): Promise<string[]> =>
      (await h.request('GET', '/api/workspaces', undefined, { token })).body.workspaces.map(
        (w: { domain: string }) => w.domain,
      );

    assert.equal((await h.request('PATCH', '/api/workspaces/old-name', { domain: 'new-name' })).status, 200);
    // The token still reaches its workspace under the new domain...
    assert.deepEqual(await domains(), ['new-name']);
    assert.equal((await h.request('GET', '/api/workspaces/new-name', undefined, { token })).status, 200);
    const self = await h.request('GET', '/api/user/token', undefined, { token });
    assert.deepEqual(self.body.workspace_restrictions, ['new-name']);
    // ...and not a stranger's workspace that takes over the old domain.
    assert.equal(
      (await h.request('POST', '/api/workspaces', { name: 'Stranger', domain: 'old-name' })).status,
      201,
    );
    assert.deepEqual(await domains(), ['new-name']);
    assert.ok(
      [403, 404].includes((await h.request('GET', '/api/workspaces/old-name', undefined, { token })).status),
    );

    // Once its only workspace is gone, the token reaches nothing (it does not become unrestricted).
    assert.equal((await h.request('DELETE', '/api/workspaces/new-name')).status, 204);
    assert.equal(
      (await h.request('POST', '/api/workspaces', { name: 'Reborn', domain: 'new-name' })).status,
      201,
    );
    assert.deepEqual(await domains(), []);
    for (const domain of ['new-name', 'old-name', 'team-a']) {
      assert.ok(
        [403, 404].includes(
          (await h.request('GET', `/api/workspaces/${domain}`, undefined, { token })).status,
        ),
        domain,
      );
    }
  });
});

describe('tokens API', () => {
  test('create, list, read the current token, delete', async () => {
    const created = await h.request('POST', '/api/user/tokens', {
      name: 'ci bot',
      scopes: ['WORKSPACE', 'TOKEN_INFO'],
      workspace_restrictions: ['team-b'],
    });
    assert.equal(created.status, 201);
    const t = created.body;
    assert.equal(t.name, 'ci bot');
    assert.deepEqual(t.scopes, ['WORKSPACE', 'TOKEN_INFO']);
    assert.deepEqual(t.workspace_restrictions, ['team-b']);
    assert.equal(typeof t.token, 'string');
    assert.ok(t.url.endsWith(`/api/user/tokens/${t.id}`));

    const list = await h.request('GET', '/api/user/tokens');
    assert.equal(list.status, 200);
    const listed = list.body.access_tokens.find((x: { id: string }) => x.id === t.id);
    assert.equal(listed.name, 'ci bot');
    // The clear value is shown once, at creation.
    assert.ok(!JSON.stringify(list.body).includes(t.token));

    const self = await h.request('GET', '/api/user/token', undefined, { token: t.token });
    assert.equal(self.status, 200);
    assert.equal(self.body.id, t.id);
    assert.deepEqual(self.body.scopes, ['WORKSPACE', 'TOKEN_INFO']);
    assert.ok(!JSON.stringify(self.body).includes(t.token));
    assert.equal((await h.request('GET', '/api/user/token', undefined, { token: null })).status, 401);

    assert.equal(
      (await h.request('GET', '/api/workspaces/team-b', undefined, { token: t.token })).status,
      200,
    );
    const del = await h.request('DELETE', `/api/user/tokens/${t.id}`);
    assert.equal(del.status, 204);
    const refused = await h.request('GET', '/api/workspaces/team-b', undefined, { token: t.token });
    assert.equal(refused.status, 401);
    assertBuddyError(refused.body);
    assert.ok(
      !(await h.request('GET', '/api/user/tokens')).body.access_tokens.some(
        (x: { id: string }) => x.id === t.id,
      ),
    );
    assert.equal((await h.request('DELETE', `/api/user/tokens/${t.id}`)).status, 404);
  });

  test('a workspace-restricted token neither sees nor revokes broader tokens', async () => {
    const restricted = await newToken({
      name: 'team-b admin',
      scopes: ['TOKEN_INFO', 'TOKEN_MANAGE'],
      workspace_restrictions: ['team-b'],
    });
    const sibling = await h.request('POST', '/api/user/tokens', {
      name: 'team-b ci',
      scopes: ['WORKSPACE'],
      workspace_restrictions: ['team-b'],
    });
    const admin = await h.request('GET', '/api/user/token');
    const listed = await h.request('GET', '/api/user/tokens', undefined, { token: restricted });
    const ids = listed.body.access_tokens.map((x: { id: string }) => x.id);
    assert.ok(ids.includes(sibling.body.id), 'a token within its workspaces is listed');
    assert.ok(!ids.includes(admin.body.id), 'the unrestricted admin token is not listed');
    const revoke = await h.request('DELETE', `/api/user/tokens/${admin.body.id}`, undefined, {
      token: restricted,
    });
    assert.equal(revoke.status, 404);
    assertBuddyError(revoke.body);
    assert.equal((await h.request('GET', '/api/user/token')).status, 200, 'the admin token still works');
    assert.equal(
      (await h.request('DELETE', `/api/user/tokens/${sibling.body.id}`, undefined, { token: restricted }))
        .status,
      204,
    );
  });
});

describe('gantry token create (CLI)', () => {
  test('prints a token that works and is restricted to its workspace and scopes', async () => {
    const out = await cli(
      'token',
      'create',
      '--data-dir',
      h.dataDir,
      ...databaseArgs(h),
      '--name',
      'x',
      '--scopes',
      'WORKSPACE',
      '--workspace',
      'team-a',
    );
    assert.equal(out.code, 0, out.stderr);
    const token = out.stdout.trim();
    assert.match(token, /^\S{20,}$/);

    const list = await h.request('GET', '/api/workspaces', undefined, { token });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.workspaces.map((w: { domain: string }) => w.domain),
      ['team-a'],
    );
    assert.ok(
      [403, 404].includes((await h.request('GET', '/api/workspaces/team-b', undefined, { token })).status),
    );
    // WORKSPACE only: no pipelines.
    assert.equal((await h.request('GET', `${A}/pipelines`, undefined, { token })).status, 403);

    const self = await h.request('GET', '/api/user/token', undefined, { token });
    assert.equal(self.body.name, 'x');
    assert.deepEqual(self.body.workspace_restrictions, ['team-a']);
  });

  test('refuses unknown workspaces and scopes without creating anything', async () => {
    const before = await snapshotRows(h.gantry.db);
    const ws = await cli(
      'token',
      'create',
      '--data-dir',
      h.dataDir,
      ...databaseArgs(h),
      '--name',
      'y',
      '--scopes',
      'WORKSPACE',
      '--workspace',
      'no-such-ws',
    );
    assert.notEqual(ws.code, 0);
    assert.match(ws.stderr, /no-such-ws/);
    const scope = await cli(
      'token',
      'create',
      '--data-dir',
      h.dataDir,
      ...databaseArgs(h),
      '--name',
      'y',
      '--scopes',
      'WORKSPACE,ROOT',
    );
    assert.notEqual(scope.code, 0);
    assert.match(scope.stderr, /ROOT/);
    assert.equal(ws.stdout + scope.stdout, '');
    assert.deepEqual(await snapshotRows(h.gantry.db), before);
  });
});
