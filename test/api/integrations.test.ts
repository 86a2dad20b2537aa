import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { resolveIntegrationAuth } from '../../src/engine/integrations.ts';
import { loadSecretKey, SecretBox } from '../../src/secrets/cipher.ts';
import { getWorkspace } from '../../src/store/workspaces.ts';
import { storedDatabaseBytes } from '../support/database.ts';
import { startGantry, type Harness } from '../support/harness.ts';

let h: Harness;
const I = '/api/workspaces/ws/integrations';
const PASSWORD = 'registry-pass-7f3a9c';
const ANY_PIPELINE = { projectId: 1, pipelineId: 1 };

before(async () => {
  h = await startGantry();
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
});
after(() => h.close());

/** Everything the database stores (SQLite files or PostgreSQL rows). */
function databaseBytes(): Promise<Buffer> {
  return storedDatabaseBytes(h.databaseUrl, h.dataDir);
}

test('integrations: create, list, get by identifier or hash_id, patch, delete', async () => {
  const created = await h.request('POST', I, {
    name: 'Local registry',
    type: 'DOCKER_REGISTRY',
    username: 'ci',
    password: PASSWORD,
    host: 'https://127.0.0.1:5000/',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const i = created.body;
  assert.match(i.identifier, /^[0-9a-f]{24}$/, "a generated identifier looks like Buddy's");
  assert.equal(i.hash_id, i.identifier);
  assert.equal(i.type, 'DOCKER_REGISTRY');
  assert.equal(i.scope, 'WORKSPACE');
  assert.equal(i.username, 'ci');
  assert.equal(i.host, '127.0.0.1:5000', 'the scheme and trailing slash are dropped');
  assert.match(i.password, /^!encrypted [A-Za-z0-9+/=]+$/);
  assert.equal(i.url, `${h.baseUrl}/api/workspaces/ws/integrations/${i.identifier}`);
  for (const field of [
    'url',
    'html_url',
    'identifier',
    'name',
    'type',
    'scope',
    'username',
    'password',
    'host',
  ])
    assert.ok(field in i, `missing ${field}`);

  const hub = await h.request('POST', I, {
    name: 'Hub',
    type: 'DOCKER_HUB',
    identifier: 'hub',
    username: 'me',
    password: 'hub-secret-xyz',
  });
  assert.equal(hub.status, 201, JSON.stringify(hub.body));
  assert.equal(hub.body.identifier, 'hub');
  assert.equal(hub.body.host, null);
  assert.equal(
    (
      await h.request('POST', I, {
        name: 'Again',
        type: 'DOCKER_HUB',
        identifier: 'hub',
        username: 'x',
        password: 'y',
      })
    ).status,
    409,
  );

  const list = await h.request('GET', I);
  assert.equal(list.status, 200);
  assert.equal(list.body.url, `${h.baseUrl}/api/workspaces/ws/integrations`);
  assert.deepEqual(
    list.body.integrations.map((x: any) => x.name),
    ['Local registry', 'Hub'],
  );
  assert.equal((await h.request('GET', `${I}/hub`)).body.hash_id, hub.body.hash_id);
  assert.equal(
    (await h.request('GET', `${I}/${hub.body.hash_id}`)).body.identifier,
    'hub',
    'Buddy clients address integrations by hash_id',
  );

  const renamed = await h.request('PATCH', `${I}/hub`, { name: 'Docker Hub', identifier: 'docker-hub' });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  assert.equal(renamed.body.name, 'Docker Hub');
  assert.equal(renamed.body.password, hub.body.password, 'a PATCH without a password keeps it');
  assert.equal((await h.request('GET', `${I}/hub`)).status, 404);
  assert.equal((await h.request('DELETE', `${I}/docker-hub`)).status, 204);
  assert.equal((await h.request('GET', `${I}/docker-hub`)).status, 404);
  assert.equal((await h.request('DELETE', `${I}/docker-hub`)).status, 404);
});

test('integrations: the password is never shown or stored in clear; sending it back keeps it', async () => {
  const created = await h.request('POST', I, {
    name: 'Secret',
    identifier: 'secret',
    type: 'DOCKER_REGISTRY',
    username: 'u',
    password: PASSWORD,
    host: 'registry.example.com',
  });
  assert.equal(created.status, 201);
  const shown = created.body.password;
  for (const res of [created, await h.request('GET', `${I}/secret`), await h.request('GET', I)]) {
    assert.ok(!JSON.stringify(res.body).includes(PASSWORD), 'no response holds the password');
  }
  const back = await h.request('PATCH', `${I}/secret`, { ...created.body, name: 'Secret 2' });
  assert.equal(back.status, 200, JSON.stringify(back.body));
  assert.equal(back.body.password, shown, 'the echoed "!encrypted" value keeps the stored secret');
  assert.equal(
    (await h.request('PATCH', `${I}/secret`, { password: '!encrypted AAAA' })).status,
    400,
    'a forged sealed value is refused',
  );
  const changed = await h.request('PATCH', `${I}/secret`, { password: 'new-password-123' });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.body.password, shown);
  const bytes = await databaseBytes();
  assert.notEqual(bytes.indexOf('registry.example.com'), -1, 'the check reads where the rows are');
  for (const secret of [PASSWORD, 'new-password-123', 'hub-secret-xyz'])
    assert.equal(bytes.indexOf(secret), -1, `${secret} is not in the database files`);
});

test('integrations: types Gantry cannot use are stored with credentials sealed, and fail clearly when used', async () => {
  const secretValues = ['AKIA-secret-1', 'sk-secret-2', 'gh-token-3', 'oidc-config-4'];
  const bodies = [
    {
      name: 'aws',
      type: 'AMAZON',
      access_key: secretValues[0],
      secret_key: secretValues[1],
      role_assumptions: [{ arn: 'a1' }, { arn: 'a2', external_id: 'ex', duration: 10 }],
    },
    { name: 'gh', type: 'GIT_HUB', token: secretValues[2], all_pipelines_allowed: false },
    {
      name: 'gsa',
      type: 'GOOGLE_SERVICE_ACCOUNT',
      auth_type: 'OIDC',
      google_project: 'proj',
      config: secretValues[3],
    },
  ];
  const created = [];
  for (const body of bodies) {
    const res = await h.request('POST', I, body);
    assert.equal(res.status, 201, `${body.type} → ${JSON.stringify(res.body)}`);
    created.push(res.body);
  }
  assert.equal(created[0].project_name, '');
  assert.deepEqual(created[0].role_assumptions, bodies[0]!.role_assumptions);
  assert.equal(created[0].all_pipelines_allowed, true);
  assert.equal(created[1].all_pipelines_allowed, false);
  assert.equal(created[2].auth_type, 'OIDC');
  assert.equal(created[2].google_project, 'proj');
  const shown = JSON.stringify((await h.request('GET', I)).body);
  const bytes = await databaseBytes();
  for (const secret of secretValues) {
    assert.ok(!shown.includes(secret), `${secret} is never shown`);
    assert.equal(bytes.indexOf(secret), -1, `${secret} is sealed at rest`);
  }
  const renamed = await h.request('PATCH', `${I}/${created[0].hash_id}`, { name: 'aws2' });
  assert.equal(renamed.body.identifier, created[0].identifier, 'a rename keeps the identifier');
  assert.equal((await h.request('PATCH', `${I}/${created[0].hash_id}`, { type: 'GIT_HUB' })).status, 400);
  const box = new SecretBox(loadSecretKey(path.join(h.dataDir, 'secret.key'), false));
  const ws = (await getWorkspace(h.gantry.db, 'ws'))!;
  await assert.rejects(
    resolveIntegrationAuth(h.gantry.db, box, ws.id, created[1].hash_id, ANY_PIPELINE),
    /GIT_HUB, which Gantry cannot use yet/,
  );
  for (const c of created) assert.equal((await h.request('DELETE', `${I}/${c.hash_id}`)).status, 204);
  const unknown = await h.request('POST', I, { name: 'x', type: 'NOPE' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.errors[0].message, /unknown integration type/);
});

test('integrations: PROJECT scope belongs to one project; pipeline restrictions hold at run time', async () => {
  assert.equal(
    (await h.request('POST', '/api/workspaces/ws/projects', { display_name: 'scoped' })).status,
    201,
  );
  const noProject = await h.request('POST', I, {
    name: 'p',
    type: 'DOCKER_HUB',
    username: 'u',
    password: 'p',
    scope: 'PROJECT',
  });
  assert.equal(noProject.status, 400);
  const scoped = await h.request('POST', I, {
    name: 'p',
    identifier: 'project-hub',
    type: 'DOCKER_HUB',
    username: 'u',
    password: 'p',
    scope: 'PROJECT',
    project_name: 'scoped',
  });
  assert.equal(scoped.status, 201, JSON.stringify(scoped.body));
  assert.equal(scoped.body.project_name, 'scoped');
  const box = new SecretBox(loadSecretKey(path.join(h.dataDir, 'secret.key'), false));
  const ws = (await getWorkspace(h.gantry.db, 'ws'))!;
  const project = (await h.request('GET', '/api/workspaces/ws/projects/scoped')).body;
  assert.ok(project);
  const own = await h.gantry.db
    .selectFrom('projects')
    .select('id')
    .where('name', '=', 'scoped')
    .executeTakeFirstOrThrow();
  assert.ok(
    await resolveIntegrationAuth(h.gantry.db, box, ws.id, 'project-hub', {
      projectId: own.id,
      pipelineId: 1,
    }),
  );
  assert.equal(
    await resolveIntegrationAuth(h.gantry.db, box, ws.id, 'project-hub', {
      projectId: own.id + 1,
      pipelineId: 1,
    }),
    null,
    'another project does not see it',
  );
  const restricted = await h.request('PATCH', `${I}/project-hub`, { all_pipelines_allowed: false });
  assert.equal(restricted.status, 200);
  await assert.rejects(
    resolveIntegrationAuth(h.gantry.db, box, ws.id, 'project-hub', { projectId: own.id, pipelineId: 1 }),
    /not allowed for this pipeline/,
  );
  assert.equal((await h.request('DELETE', `${I}/project-hub`)).status, 204);
});

test('integrations: bad input gets a 4xx in Buddy shape and stores nothing', async () => {
  const before = (await h.request('GET', I)).body.integrations.length;
  const bad: unknown[] = [
    { type: 'DOCKER_HUB', username: 'u', password: 'p' },
    { name: 'n', username: 'u', password: 'p' },
    { name: 'n', type: 'NOPE', username: 'u', password: 'p' },
    { name: 'n', type: 'DOCKER_HUB', password: 'p' },
    { name: 'n', type: 'DOCKER_HUB', username: 'u' },
    { name: 'n', type: 'DOCKER_HUB', username: 'u', password: 'p', host: 'example.com' },
    { name: 'n', type: 'DOCKER_REGISTRY', username: 'u', password: 'p' },
    { name: 'n', type: 'DOCKER_REGISTRY', username: 'u', password: 'p', host: 'not a host/x' },
    { name: 'n', type: 'DOCKER_HUB', username: 'u', password: '!encrypted AAAA' },
    { name: 'n', type: 'DOCKER_HUB', username: 'u', password: 'p', identifier: '../x' },
    { name: 'n', type: 'DOCKER_HUB', username: 'u', password: 'p', token: 't' },
    { name: 'n', type: 'DOCKER_HUB', username: 'u', password: 'p', unknown: true },
    { name: 'n', type: 'DOCKER_HUB', username: 1, password: 'p' },
  ];
  for (const body of bad) {
    const res = await h.request('POST', I, body);
    assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
    assert.equal(typeof res.body.errors[0].message, 'string');
  }
  const hub = await h.request('POST', I, {
    name: 'ok',
    identifier: 'ok',
    type: 'DOCKER_HUB',
    username: 'u',
    password: 'p',
  });
  assert.equal(hub.status, 201);
  const toRegistry = await h.request('PATCH', `${I}/ok`, { type: 'DOCKER_REGISTRY' });
  assert.equal(toRegistry.status, 400, 'a DOCKER_REGISTRY needs its host');
  assert.equal(
    (await h.request('PATCH', `${I}/ok`, { type: 'AMAZON_ECR' })).status,
    400,
    'no change of kind',
  );
  assert.equal(
    (await h.request('GET', `${I}/ok`)).body.type,
    'DOCKER_HUB',
    'a refused PATCH changes nothing',
  );
  assert.equal((await h.request('GET', I)).body.integrations.length, before + 1);
});

test('integrations: scopes INTEGRATION_INFO / INTEGRATION_ADD / INTEGRATION_MANAGE', async () => {
  const make = async (scopes: string[]): Promise<string> =>
    (await h.request('POST', '/api/user/tokens', { name: scopes.join('+'), scopes })).body.token;
  const info = await make(['INTEGRATION_INFO']);
  const add = await make(['INTEGRATION_ADD']);
  const body = { name: 's', type: 'DOCKER_HUB', username: 'u', password: 'p', identifier: 'scoped' };
  assert.equal((await h.request('GET', I, undefined, { token: info })).status, 200);
  assert.equal((await h.request('POST', I, body, { token: info })).status, 403);
  assert.equal((await h.request('POST', I, body, { token: add })).status, 201);
  assert.equal((await h.request('GET', I, undefined, { token: add })).status, 403);
  assert.equal((await h.request('PATCH', `${I}/scoped`, { name: 'x' }, { token: add })).status, 403);
  assert.equal((await h.request('DELETE', `${I}/scoped`, undefined, { token: info })).status, 403);
  assert.equal((await h.request('DELETE', `${I}/scoped`)).status, 204);
});

test('resolveIntegrationAuth gives the engine clear credentials and the registry address', async () => {
  const created = await h.request('POST', I, {
    name: 'Pull',
    identifier: 'pull',
    type: 'DOCKER_REGISTRY',
    username: 'puller',
    password: 'pull-pass-789',
    host: '127.0.0.1:5000',
  });
  assert.equal(created.status, 201);
  const hub = await h.request('POST', I, {
    name: 'Hub pull',
    identifier: 'hub-pull',
    type: 'DOCKER_HUB',
    username: 'hubber',
    password: 'hub-pass-789',
  });
  assert.equal(hub.status, 201);
  const box = new SecretBox(loadSecretKey(path.join(h.dataDir, 'secret.key'), false));
  const ws = (await getWorkspace(h.gantry.db, 'ws'))!;
  assert.deepEqual(await resolveIntegrationAuth(h.gantry.db, box, ws.id, 'pull', ANY_PIPELINE), {
    username: 'puller',
    password: 'pull-pass-789',
    serveraddress: '127.0.0.1:5000',
  });
  assert.deepEqual(await resolveIntegrationAuth(h.gantry.db, box, ws.id, hub.body.hash_id, ANY_PIPELINE), {
    username: 'hubber',
    password: 'hub-pass-789',
    serveraddress: 'docker.io',
  });
  assert.equal(await resolveIntegrationAuth(h.gantry.db, box, ws.id, 'nope', ANY_PIPELINE), null);
  assert.equal(
    await resolveIntegrationAuth(h.gantry.db, box, ws.id + 1000, 'pull', ANY_PIPELINE),
    null,
    "another workspace's integrations are not found",
  );
});
