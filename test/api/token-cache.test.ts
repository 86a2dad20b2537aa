import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/store/database.ts';
import { startGantry, type Harness } from '../support/harness.ts';

/**
 * The API caches what a token value resolves to (PrincipalCache). Every change made through the
 * server must take effect on the very next request; a change made by another process (here: a second
 * connection to the same database, as `gantry token` or a second server would make) within the
 * cache's time bound.
 */
let h: Harness;

before(async () => {
  h = await startGantry();
  assert.equal((await h.request('POST', '/api/workspaces', { domain: 'alpha' })).status, 201);
});

after(async () => {
  await h.close();
});

async function newToken(fields: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
  const res = await h.request('POST', '/api/user/tokens', {
    name: `t${Math.random()}`,
    scopes: ['WORKSPACE', 'TOKEN_MANAGE', 'WORKSPACES_MANAGE'],
    ...fields,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

test('a revoked token is refused on the next request, though it was just used', async () => {
  const t = await newToken();
  for (let i = 0; i < 3; i += 1)
    assert.equal((await h.request('GET', '/api/workspaces', undefined, { token: t.token })).status, 200);
  assert.equal((await h.request('DELETE', `/api/user/tokens/${t.id}`)).status, 204);
  assert.equal((await h.request('GET', '/api/workspaces', undefined, { token: t.token })).status, 401);
});

test("a restricted token follows its workspace's new domain at once", async () => {
  const t = await newToken({ workspace_restrictions: ['alpha'] });
  assert.equal((await h.request('GET', '/api/workspaces/alpha', undefined, { token: t.token })).status, 200);
  assert.equal((await h.request('PATCH', '/api/workspaces/alpha', { domain: 'beta' })).status, 200);
  assert.equal((await h.request('GET', '/api/workspaces/beta', undefined, { token: t.token })).status, 200);
  assert.equal((await h.request('PATCH', '/api/workspaces/beta', { domain: 'alpha' })).status, 200);
});

test('a user renamed through the API shows the new name to a cached token', async () => {
  const t = await newToken();
  const before = await h.request('GET', '/api/user', undefined, { token: t.token });
  assert.equal(before.status, 200);
  assert.equal((await h.request('PATCH', '/api/user', { name: 'Renamed Admin' })).status, 200);
  const afterRename = await h.request('GET', '/api/user', undefined, { token: t.token });
  assert.equal(afterRename.body.name, 'Renamed Admin');
});

test('a token deleted by another process is refused within the time bound', async () => {
  const t = await newToken();
  assert.equal((await h.request('GET', '/api/workspaces', undefined, { token: t.token })).status, 200);
  const other = await openDatabase(h.databaseUrl, h.dataDir);
  try {
    await other.deleteFrom('tokens').where('id', '=', t.id).execute();
  } finally {
    await other.destroy();
  }
  // The bound is one second; allow for a slow machine, and fail if it never takes effect.
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await h.request('GET', '/api/workspaces', undefined, { token: t.token })).status;
    if (status === 401) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 401);
});
