import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storedDatabaseBytes } from '../support/database.ts';
import { startGantry, type Harness } from '../support/harness.ts';
import { assertBuddyError } from '../support/api.ts';

// Seed 004, copied verbatim from the spec: the request body and the example response.
const SEED_REQUEST = JSON.parse(
  `{ "name": "Run container", "type": "RUN_DOCKER_CONTAINER", "docker_image_name": "library/ubuntu", "docker_image_tag": "latest", "inline_commands": "ls -al > ls.log", "run_as_user": "$containerUser", "mount_filesystem_disable": false, "export_container_path": "/exportPath", "volume_mappings": [ "/:/buddy/mount/directory" ], "integration": { "identifier": "5ddb7c180fb38be67bd78a88a" }, "variables": [ { "key": "containerUser", "value": "notRoot" } ], "entrypoint": "/bin/sh" }`,
) as Record<string, unknown>;
const SEED_RESPONSE = JSON.parse(
  `{ "url": "https://api.buddy.works/workspaces/buddy/projects/company-website/pipelines/2/actions/2", "html_url": "https://app.buddy.works/buddy/company-website/pipelines/action/2/edit", "id": 2, "name": "Run container", "type": "RUN_DOCKER_CONTAINER", "trigger_time": "ON_EVERY_EXECUTION", "last_execution_status": "INITIAL", "docker_image_name": "library/ubuntu", "docker_image_tag": "latest", "inline_commands": "ls -al > ls.log", "run_as_user": "$containerUser", "mount_filesystem_disable": false, "volume_mappings": [ "/:/buddy/mount/directory" ], "export_container_path": "/exportPath", "entrypoint": "/bin/sh", "pipeline": { "url": "https://api.buddy.works/workspaces/buddy/projects/company-website/pipelines/2", "html_url": "https://app.buddy.works/buddy/company-website/pipelines/pipeline/2", "id": 2, "name": "Live mirror", "on": "CLICK", "refs": [ "refs/heads/master" ], "last_execution_status": "SUCCESSFUL", "last_execution_revision": "506a3963507943d6908154f4bc9646e829128a08" } }`,
) as Record<string, unknown>;

const BASE_URL = 'https://ci.example.test/gantry';
const PROJECT = '/api/workspaces/buddy/projects/company-website';

/** Every key path of `example` (recursing into objects) that `actual` lacks or holds with another JSON type. */
function shapeDifferences(example: unknown, actual: unknown, at = ''): string[] {
  if (example === null || typeof example !== 'object' || Array.isArray(example)) {
    const kind = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
    // A value the example shows filled may be null on a fresh server (e.g. last_execution_revision).
    return actual === null || kind(actual) === kind(example)
      ? []
      : [`${at}: ${kind(example)} expected, got ${kind(actual)}`];
  }
  if (actual === null || typeof actual !== 'object')
    return [`${at}: object expected, got ${JSON.stringify(actual)}`];
  const out: string[] = [];
  for (const [key, value] of Object.entries(example)) {
    const where = at ? `${at}.${key}` : key;
    if (!(key in actual)) out.push(`${where}: missing`);
    else out.push(...shapeDifferences(value, (actual as Record<string, unknown>)[key], where));
  }
  return out;
}

let h: Harness;
let pipelinePath: string;
let pipelineId: number;

before(async () => {
  h = await startGantry({ config: { publicUrl: BASE_URL } });
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'Buddy', domain: 'buddy' })).status, 201);
  assert.equal(
    (
      await h.request('POST', '/api/workspaces/buddy/projects', {
        display_name: 'Company website',
        name: 'company-website',
      })
    ).status,
    201,
  );
  const p = await h.request('POST', `${PROJECT}/pipelines`, {
    name: 'Live mirror',
    on: 'CLICK',
    refs: ['refs/heads/master'],
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  pipelineId = p.body.id;
  pipelinePath = `${PROJECT}/pipelines/${pipelineId}`;
});

after(async () => {
  await h.close();
});

/** The API path of an object from its `url` (which must sit under the configured base URL). */
function apiPath(url: string): string {
  assert.ok(url.startsWith(`${BASE_URL}/api/`), `${url} is not under ${BASE_URL}/api/`);
  return url.slice(BASE_URL.length);
}

describe('seed 004: add a "Run Docker container" action', () => {
  test('the verbatim request answers 201 with every field of the example response, echoing what was sent', async () => {
    const res = await h.request('POST', `${pipelinePath}/actions`, SEED_REQUEST);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const a = res.body;
    assert.deepEqual(shapeDifferences(SEED_RESPONSE, a), []);

    for (const key of [
      'name',
      'type',
      'docker_image_name',
      'docker_image_tag',
      'inline_commands',
      'run_as_user',
      'mount_filesystem_disable',
      'volume_mappings',
      'export_container_path',
      'entrypoint',
    ]) {
      assert.deepEqual(a[key], SEED_REQUEST[key], `field ${key}`);
    }
    assert.equal(a.trigger_time, 'ON_EVERY_EXECUTION');
    assert.equal(a.last_execution_status, 'INITIAL');
    assert.equal(typeof a.id, 'number');
    assert.deepEqual(a.integration, SEED_REQUEST.integration);
    assert.deepEqual(
      a.variables.map((v: { key: string; value: string }) => ({ key: v.key, value: v.value })),
      SEED_REQUEST.variables,
    );

    assert.equal(a.pipeline.id, pipelineId);
    assert.equal(a.pipeline.name, 'Live mirror');
    assert.equal(a.pipeline.on, 'CLICK');
    assert.deepEqual(a.pipeline.refs, ['refs/heads/master']);
    assert.equal(a.pipeline.last_execution_status, 'INITIAL');

    assert.equal(
      a.url,
      `${BASE_URL}/api/workspaces/buddy/projects/company-website/pipelines/${pipelineId}/actions/${a.id}`,
    );
    assert.ok(a.html_url.startsWith(`${BASE_URL}/`), a.html_url);
    assert.equal(
      a.pipeline.url,
      `${BASE_URL}/api/workspaces/buddy/projects/company-website/pipelines/${pipelineId}`,
    );
    assert.ok(a.pipeline.html_url.startsWith(`${BASE_URL}/`), a.pipeline.html_url);

    // The url is an address a client can follow.
    const followed = await h.request('GET', apiPath(a.url));
    assert.equal(followed.status, 200);
    assert.deepEqual(followed.body, a);
  });
});

describe('action lifecycle', () => {
  async function create(name: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const res = await h.request('POST', `${pipelinePath}/actions`, { ...SEED_REQUEST, name, ...extra });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  async function listedNames(): Promise<string[]> {
    const res = await h.request('GET', `${pipelinePath}/actions`);
    assert.equal(res.status, 200);
    return res.body.actions.map((a: { name: string }) => a.name);
  }

  test('read back, listed, renamed by PATCH, deleted', async () => {
    const created = await create('Lifecycle');
    const path = apiPath(created.url);

    const read = await h.request('GET', path);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, created);

    const list = await h.request('GET', `${pipelinePath}/actions`);
    assert.equal(list.status, 200);
    assert.equal(list.body.url, `${BASE_URL}${pipelinePath}/actions`);
    assert.ok(list.body.html_url.startsWith(`${BASE_URL}/`));
    assert.deepEqual(
      list.body.actions.find((a: { id: number }) => a.id === created.id),
      created,
    );

    const renamed = await h.request('PATCH', path, { name: 'Lifecycle renamed' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'Lifecycle renamed');
    // A partial update: nothing but the name moved.
    assert.deepEqual({ ...renamed.body, name: created.name }, created);
    assert.equal((await h.request('GET', path)).body.name, 'Lifecycle renamed');

    const deleted = await h.request('DELETE', path);
    assert.equal(deleted.status, 204);
    assert.equal(deleted.body, null);
    const gone = await h.request('GET', path);
    assert.equal(gone.status, 404);
    assertBuddyError(gone.body);
    assert.ok(!(await listedNames()).includes('Lifecycle renamed'));
    assert.equal((await h.request('DELETE', path)).status, 404);
  });

  test('type cannot be changed by PATCH', async () => {
    const created = await create('Typed');
    const res = await h.request('PATCH', apiPath(created.url), { type: 'BUILD' });
    assert.equal(res.status, 400);
    assertBuddyError(res.body);
    assert.deepEqual((await h.request('GET', apiPath(created.url))).body, created);
    // Sending the same type back (a GET body round trip) is not a change.
    const same = await h.request('PATCH', apiPath(created.url), {
      type: 'RUN_DOCKER_CONTAINER',
      name: 'Typed',
    });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    await h.request('DELETE', apiPath(created.url));
  });

  test('a GET body sent back by PATCH changes nothing', async () => {
    const created = await create('Round trip', { login: 'robot', password: 'round-trip-password' });
    const res = await h.request('PATCH', apiPath(created.url), created);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, created);
    await h.request('DELETE', apiPath(created.url));
  });

  test('after_action_id orders actions', async () => {
    // A pipeline of its own, so that earlier tests' actions do not interfere.
    const p = await h.request('POST', `${PROJECT}/pipelines`, { name: 'Ordering' });
    const actionsPath = `${PROJECT}/pipelines/${p.body.id}/actions`;
    const add = async (name: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> => {
      const res = await h.request('POST', actionsPath, { ...SEED_REQUEST, name, ...extra });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    };
    const order = async (): Promise<{ name: string; after: number | null }[]> =>
      (await h.request('GET', actionsPath)).body.actions.map(
        (a: { name: string; after_action_id: number | null }) => ({ name: a.name, after: a.after_action_id }),
      );

    const first = await add('first');
    const second = await add('second');
    const third = await add('third');
    assert.deepEqual(await order(), [
      { name: 'first', after: null },
      { name: 'second', after: first.id },
      { name: 'third', after: second.id },
    ]);

    const moved = await h.request('PATCH', apiPath(third.url), { after_action_id: first.id });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.after_action_id, first.id);
    assert.deepEqual(await order(), [
      { name: 'first', after: null },
      { name: 'third', after: first.id },
      { name: 'second', after: third.id },
    ]);

    const inserted = await add('inserted', { after_action_id: first.id });
    assert.equal(inserted.after_action_id, first.id);
    assert.deepEqual(
      (await order()).map((o) => o.name),
      ['first', 'inserted', 'third', 'second'],
    );

    const toFront = await h.request('PATCH', apiPath(second.url), { after_action_id: 0 });
    assert.equal(toFront.status, 200, JSON.stringify(toFront.body));
    assert.deepEqual(
      (await order()).map((o) => o.name),
      ['second', 'first', 'inserted', 'third'],
    );

    const self = await h.request('PATCH', apiPath(second.url), { after_action_id: second.id });
    assert.equal(self.status, 400);
    assertBuddyError(self.body);
    const foreign = await h.request('PATCH', apiPath(second.url), { after_action_id: 987654 });
    assert.equal(foreign.status, 400);
    assertBuddyError(foreign.body);
    assert.deepEqual(
      (await order()).map((o) => o.name),
      ['second', 'first', 'inserted', 'third'],
    );
  });
});

describe('secrets in actions', () => {
  const PASSWORD = 'Registry-Pa55word-f00d-c0ffee';
  const SECRET_VARIABLE = 'Variable-Secret-beef-cafe-1234';

  async function stored(): Promise<Buffer> {
    const bytes = await storedDatabaseBytes(h.databaseUrl, h.dataDir);
    assert.ok(bytes.length > 0);
    return bytes;
  }

  test('a registry password and an encrypted variable never come back in clear and are not stored in clear', async () => {
    const res = await h.request('POST', `${pipelinePath}/actions`, {
      ...SEED_REQUEST,
      name: 'Private registry',
      login: 'robot',
      password: PASSWORD,
      registry: 'registry.example.test',
      variables: [{ key: 'TOKEN', value: SECRET_VARIABLE, encrypted: true }],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const a = res.body;
    assert.match(a.password, /^!encrypted \S+/);
    assert.equal(a.login, 'robot');
    assert.match(a.variables[0].value, /^!encrypted \S+/);
    assert.equal(a.variables[0].encrypted, true);

    const responses = [
      a,
      (await h.request('GET', apiPath(a.url))).body,
      (await h.request('GET', `${pipelinePath}/actions`)).body,
      (await h.request('PATCH', apiPath(a.url), { name: 'Private registry (renamed)' })).body,
      (await h.request('PATCH', apiPath(a.url), { password: a.password })).body,
    ];
    for (const body of responses) {
      const text = JSON.stringify(body);
      assert.ok(!text.includes(PASSWORD), `password in clear: ${text}`);
      assert.ok(!text.includes(SECRET_VARIABLE), `variable in clear: ${text}`);
    }
    // Sending the shown value back keeps the secret rather than replacing it with the placeholder.
    assert.equal(responses[4].password, a.password);

    const bytes = await stored();
    assert.ok(bytes.includes('registry.example.test'), 'the action is in the database files');
    assert.ok(!bytes.includes(PASSWORD), 'password stored in clear');
    assert.ok(!bytes.includes(SECRET_VARIABLE), 'encrypted variable stored in clear');

    // An "!encrypted" value that is not this action's cannot be planted.
    const planted = await h.request('PATCH', apiPath(a.url), { password: '!encrypted AAAA' });
    assert.equal(planted.status, 400);
    assertBuddyError(planted.body);

    // Clearing the password is possible and shows null.
    const cleared = await h.request('PATCH', apiPath(a.url), { password: null });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.password, null);
  });
});
