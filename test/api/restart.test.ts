import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { makeRepo, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';

/** Everything a client created is there, unchanged, after the server stops and starts again. */

let h: Harness;
const repo = makeRepo([{ message: 'first', files: { 'README.md': 'hi\n' } }]);
const P = '/api/workspaces/acme/projects';

before(async () => {
  h = await startGantry();
});

after(async () => {
  await h.close();
  rmSync(repo.dir, { recursive: true, force: true });
});

async function get(url: string, token?: string): Promise<unknown> {
  const res = await h.request('GET', url, undefined, token === undefined ? {} : { token });
  assert.equal(res.status, 200, `${url}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function create(
  url: string,
  body: Record<string, unknown>,
  status = 201,
): Promise<Record<string, any>> {
  const res = await h.request('POST', url, body);
  assert.equal(res.status, status, `${url}: ${JSON.stringify(res.body)}`);
  return res.body;
}

test('workspaces, projects, pipelines, actions, tokens and executions survive a restart', async () => {
  await create('/api/workspaces', { name: 'Acme', domain: 'acme' });
  await create('/api/workspaces', { name: 'Side', domain: 'side' });
  await create(P, { display_name: 'Hosted' });
  await create(P, {
    display_name: 'Custom',
    name: 'custom',
    custom_repo_url: repo.dir,
    custom_repo_user: 'bot',
    custom_repo_pass: 'repo-secret',
  });
  const pipeline = await create(`${P}/custom/pipelines`, {
    name: 'Release',
    refs: ['refs/heads/master'],
    priority: 'HIGH',
    tags: ['prod'],
    variables: [
      { key: 'PLAIN', value: 'visible' },
      { key: 'SECRET', value: 'pipeline-secret', encrypted: true },
    ],
  });
  const pipelinePath = `${P}/custom/pipelines/${pipeline.id}`;
  const first = await create(`${pipelinePath}/actions`, {
    name: 'Build',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'make',
    login: 'bot',
    password: 'registry-secret',
    volume_mappings: ['/cache:/root/.cache'],
  });
  await create(`${pipelinePath}/actions`, {
    name: 'Test',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'make test',
    trigger_time: 'ON_SUCCESS',
    variables: [{ key: 'K', value: 'v', encrypted: true }],
  });
  await create(`${pipelinePath}/actions`, {
    name: 'First',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'true',
    after_action_id: 0,
  });
  const restricted = await create('/api/user/tokens', {
    name: 'restricted',
    scopes: ['WORKSPACE', 'EXECUTION_INFO'],
    workspace_restrictions: ['acme'],
    expires_in: 1,
  });
  const execution = await create(
    `${pipelinePath}/executions`,
    { comment: 'later', delay_until: new Date(Date.now() + 86_400_000).toISOString() },
    200,
  );

  const urls = [
    '/api/workspaces',
    '/api/workspaces/acme',
    P,
    `${P}/hosted`,
    `${P}/custom`,
    `${P}/custom/pipelines`,
    pipelinePath,
    `${pipelinePath}/actions`,
    `${pipelinePath}/actions/${first.id}`,
    '/api/user/tokens',
    `${pipelinePath}/executions/${execution.id}`,
  ];
  const before = new Map<string, unknown>();
  for (const url of urls) before.set(url, await get(url));
  const restrictedView = await get('/api/workspaces', restricted.token);

  await h.restart();

  for (const url of urls)
    assert.deepEqual(await get(url), before.get(url), `${url} changed across the restart`);
  // Tokens still authenticate, with the same restrictions.
  assert.deepEqual(await get('/api/workspaces', restricted.token), restrictedView);
  assert.equal(
    (await h.request('GET', '/api/workspaces/side', undefined, { token: restricted.token })).status,
    403,
  );
  // Secrets still open with the same key: sending the shown password back is accepted as "unchanged".
  const action = before.get(`${pipelinePath}/actions/${first.id}`) as { password: string };
  const patched = await h.request('PATCH', `${pipelinePath}/actions/${first.id}`, {
    password: action.password,
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.password, action.password);
  // New objects get new ids after the restart.
  const next = await create(`${pipelinePath}/actions`, {
    name: 'After restart',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'true',
  });
  const ids = ((await get(`${pipelinePath}/actions`)) as { actions: { id: number }[] }).actions.map(
    (a) => a.id,
  );
  assert.equal(ids.filter((id) => id === next.id).length, 1);
  assert.equal(ids.length, 4);
});
