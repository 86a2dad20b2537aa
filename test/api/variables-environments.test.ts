import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSshKey } from '../../src/secrets/ssh-keys.ts';
import { makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';

let h: Harness;
let projectName: string;
let pipelineId: number;

before(async () => {
  h = await startGantry();
  const repo = makeRepo([{ message: 'init', files: { a: '1' } }]).dir;
  const setup = await setupPipeline(h, repo);
  projectName = setup.projectPath.split('/').pop()!;
  pipelineId = setup.pipelineId;
});
after(() => h.close());

const V = '/api/workspaces/ws/variables';

test('variables: create at each level, list with filters, get, patch, delete', async () => {
  const ws = await h.request('POST', V, { key: 'A', value: 'ws' });
  const project = await h.request('POST', V, { key: 'A', value: 'project', project: { name: projectName } });
  const pipeline = await h.request('POST', V, {
    key: 'A',
    value: 'pipeline',
    pipeline: { id: pipelineId },
    description: 'd',
  });
  for (const r of [ws, project, pipeline]) assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(project.body.project.name, projectName);
  assert.equal(pipeline.body.pipeline.id, pipelineId);
  assert.equal(ws.body.project, null);
  for (const field of [
    'id',
    'url',
    'html_url',
    'key',
    'value',
    'type',
    'description',
    'encrypted',
    'settable',
    'file_place',
    'file_path',
    'file_chmod',
  ]) {
    assert.ok(field in ws.body, `missing ${field}`);
  }
  const dup = await h.request('POST', V, { key: 'A', value: 'again' });
  assert.equal(dup.status, 409);
  assert.deepEqual(
    (await h.request('GET', V)).body.variables.filter((v: any) => v.type === 'VAR').map((v: any) => v.value),
    ['ws'],
  );
  assert.deepEqual(
    (await h.request('GET', `${V}?project_name=${projectName}`)).body.variables
      .filter((v: any) => v.type === 'VAR')
      .map((v: any) => v.value),
    ['project'],
  );
  assert.deepEqual(
    (await h.request('GET', `${V}?pipeline_id=${pipelineId}`)).body.variables
      .filter((v: any) => v.type === 'VAR')
      .map((v: any) => v.value),
    ['pipeline'],
  );
  assert.equal((await h.request('GET', `${V}?pipeline_id=999999`)).status, 404);
  const patched = await h.request('PATCH', `${V}/${ws.body.id}`, { value: 'ws2' });
  assert.equal(patched.body.value, 'ws2');
  const moved = await h.request('PATCH', `${V}/${ws.body.id}`, { project: { name: projectName } });
  assert.equal(moved.status, 400);
  assert.equal((await h.request('DELETE', `${V}/${ws.body.id}`)).status, 204);
  assert.equal((await h.request('GET', `${V}/${ws.body.id}`)).status, 404);
});

test('encrypted variables: shown sealed, kept when sent back, cannot be silently decrypted', async () => {
  const created = await h.request('POST', V, { key: 'TOKEN', value: 'hunter2-hunter2', encrypted: true });
  assert.equal(created.status, 201);
  assert.match(created.body.value, /^!encrypted [A-Za-z0-9+/=]+$/);
  const back = await h.request('PATCH', `${V}/${created.body.id}`, {
    value: created.body.value,
    description: 'x',
  });
  assert.equal(back.status, 200);
  assert.equal(back.body.value, created.body.value, 'the sealed value is unchanged');
  const decrypt = await h.request('PATCH', `${V}/${created.body.id}`, { encrypted: false });
  assert.equal(decrypt.status, 400);
  const forged = await h.request('PATCH', `${V}/${created.body.id}`, { value: '!encrypted AAAA' });
  assert.equal(forged.status, 400);
  const ssh = await h.request('POST', V, {
    key: 'DEPLOY_KEY',
    value: generateSshKey('deploy').privateKey,
    type: 'SSH_KEY',
    file_path: '~/.ssh/id_deploy',
  });
  assert.equal(ssh.status, 201);
  assert.equal(ssh.body.encrypted, true, 'SSH keys are always encrypted');
  assert.equal(ssh.body.file_chmod, '600');
});

test('variables: bad input gets a 4xx in Buddy shape and stores nothing', async () => {
  const before = (await h.request('GET', V)).body.variables.length;
  const bad: unknown[] = [
    { value: 'no key' },
    { key: '1abc', value: 'x' },
    { key: 'K', value: 1 },
    { key: 'K', value: 'x', type: 'NOPE' },
    { key: 'K', value: 'x', type: 'FILE', file_place: 'CONTAINER' },
    { key: 'K', value: 'x', type: 'FILE', file_path: 'relative/path' },
    { key: 'K', value: 'x', file_chmod: '999' },
    { key: 'K', value: 'x', project: { name: 'nope' } },
    { key: 'K', value: 'x', project: { name: projectName }, pipeline: { id: pipelineId } },
    { key: 'K', value: 'x', unknown: true },
  ];
  for (const body of bad) {
    const res = await h.request('POST', V, body);
    assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
    assert.equal(typeof res.body.errors[0].message, 'string');
  }
  assert.equal((await h.request('GET', V)).body.variables.length, before);
});

test('environments: create with variables, list, get, patch, delete; unknown ones are 404', async () => {
  const E = '/api/workspaces/ws/environments';
  const created = await h.request('POST', E, {
    name: 'Staging',
    identifier: 'staging',
    tags: ['web'],
    project: { name: projectName },
    variables: [
      { key: 'URL', value: 'https://staging' },
      { key: 'PASS', value: 'p4ss-word', encrypted: true },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.scope, 'PROJECT');
  assert.equal(created.body.id.length, 8);
  assert.deepEqual(created.body.variables.map((v: any) => v.key).sort(), ['PASS', 'URL']);
  assert.ok(!JSON.stringify(created.body).includes('p4ss-word'));
  assert.equal(
    (await h.request('POST', E, { name: 'Staging', identifier: 'staging', project: { name: projectName } }))
      .status,
    409,
  );
  const list = await h.request('GET', `${E}?project_name=${projectName}`);
  assert.deepEqual(
    list.body.environments.map((e: any) => e.identifier),
    ['staging'],
  );
  const pass = created.body.variables.find((v: any) => v.key === 'PASS');
  const patched = await h.request('PATCH', `${E}/${created.body.id}`, {
    name: 'Stage',
    variables: [{ key: 'PASS', value: pass.value, encrypted: true }],
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.name, 'Stage');
  assert.equal(patched.body.variables.length, 1);
  assert.equal(patched.body.variables[0].value, pass.value, 'sent-back sealed value kept');
  const run = await h.request(
    'POST',
    `/api/workspaces/ws/projects/${projectName}/pipelines/${pipelineId}/executions`,
    { environment: 'production' },
  );
  assert.equal(run.status, 404);
  assert.match(run.body.errors[0].message, /production/);
  assert.equal((await h.request('DELETE', `${E}/${created.body.id}`)).status, 204);
  assert.equal((await h.request('GET', `${E}/${created.body.id}`)).status, 404);
});
