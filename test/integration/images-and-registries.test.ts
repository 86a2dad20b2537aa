import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.ts';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  TEST_IMAGE,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';

let h: Harness;
let registry: TestRegistry;
let repo: string;
const docker = new DockerRuntime({ dockerHost: '/var/run/docker.sock' });

const DOCKERFILE =
  'FROM gantry-test/busybox:latest\nARG GREETING=none\nRUN echo "built with $GREETING" > /only-in-built-image\n';

before(async () => {
  h = await startGantry();
  registry = await startRegistry();
  repo = makeRepo([
    {
      message: 'init',
      files: {
        'docker/Dockerfile': DOCKERFILE,
        'docker/.dockerignore': 'secret.txt\n',
        'docker/secret.txt': 'x',
      },
    },
  ]).dir;
});
after(async () => {
  await h.close();
  await registry.stop();
});

async function run(pipelinePath: string): Promise<any> {
  const res = await h.request('POST', `${pipelinePath}/executions`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return waitForExecution(h, `${pipelinePath}/executions/${res.body.id}`, 120_000);
}

async function buildAction(pipelinePath: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await h.request('POST', `${pipelinePath}/actions`, {
    name: 'Build image',
    type: 'DOCKERFILE',
    dockerfile_path: 'docker/Dockerfile',
    context_path: '/docker',
    build_args: ['GREETING=$WHO'],
    variables: [{ key: 'WHO', value: 'gantry' }],
    ...extra,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

function imagesLabelled(executionAeids: string[]): string[] {
  const out = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], {
    encoding: 'utf8',
  });
  return out.split('\n').filter((l) => executionAeids.some((id) => l.includes(id)));
}

for (const [how, ref] of [
  ['nearest earlier build (id 0)', (_id: number) => ({ docker_build_action_id: 0 })],
  ['docker_build_action_name', (_id: number) => ({ docker_build_action_name: 'Build image' })],
  ['docker_build_action_id', (id: number) => ({ docker_build_action_id: id })],
] as const) {
  test(`a container action runs the image a DOCKERFILE action built, by ${how}`, async () => {
    const { pipelinePath } = await setupPipeline(h, repo);
    const build = await buildAction(pipelinePath);
    await addAction(h, pipelinePath, {
      name: 'use it',
      docker_image_name: undefined,
      docker_image_tag: undefined,
      use_image_from_action: true,
      ...ref(build.id),
      inline_commands: 'cat /only-in-built-image; ls /buddy/*/docker',
    });
    const e = await run(pipelinePath);
    assert.equal(
      e.status,
      'SUCCESSFUL',
      JSON.stringify(e.action_executions.map((a: any) => [a.status, a.error_message])),
    );
    const executionPath = `${pipelinePath}/executions/${e.id}`;
    const buildLog = await logsOf(h, executionPath, e.action_executions[0].action_execution_id);
    assert.ok(
      buildLog.some((l) => l.includes('Step') || l.includes('RUN')),
      buildLog.join('\n'),
    );
    const lines = await logsOf(h, executionPath, e.action_executions[1].action_execution_id);
    assert.equal(lines[0], 'built with gantry', 'the build arg was substituted and the built image ran');
    assert.deepEqual(
      imagesLabelled(e.action_executions.map((a: any) => a.action_execution_id)),
      [],
      'built images are pruned when the execution ends',
    );
  });
}

test('referring to a missing or non-build action is a 400 when saved', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  const plain = await addAction(h, pipelinePath, { name: 'plain' });
  for (const ref of [
    { docker_build_action_id: 0 },
    { docker_build_action_id: plain.id },
    { docker_build_action_name: 'nope' },
    { docker_build_action_id: 999999 },
  ]) {
    const res = await h.request('POST', `${pipelinePath}/actions`, {
      name: 'x',
      type: 'RUN_DOCKER_CONTAINER',
      inline_commands: 'true',
      use_image_from_action: true,
      ...ref,
    });
    assert.equal(res.status, 400, JSON.stringify(ref));
    assert.match(res.body.errors[0].message, /DOCKERFILE/);
  }
  const push = await h.request('POST', `${pipelinePath}/actions`, {
    name: 'push',
    type: 'DOCKER_PUSH',
    repository: 'x/y',
  });
  assert.equal(push.status, 400);
});

test('a build that did not run fails the action that needs its image, clearly', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await buildAction(pipelinePath, { dockerfile_path: 'docker/Missing.Dockerfile' });
  await addAction(h, pipelinePath, {
    name: 'use it',
    use_image_from_action: true,
    docker_build_action_id: 0,
    ignore_errors: false,
    trigger_time: 'ON_FAILURE',
  });
  const e = await run(pipelinePath);
  assert.equal(e.status, 'FAILED');
  assert.match(e.action_executions[0].error_message, /is not a file/);
  assert.match(e.action_executions[1].error_message, /did not build its image/);
});

test('a container action pulls from a password-protected registry: inline credentials, integration, wrong password', async () => {
  const image = `${registry.host}/team/busybox`;
  await docker.tagImage(`${TEST_IMAGE.docker_image_name}:latest`, `${image}:v1`);
  await docker.pushImage(`${image}:v1`, {
    username: registry.username,
    password: registry.password,
    serveraddress: registry.host,
  });
  const { pipelinePath } = await setupPipeline(h, repo);
  const base = { docker_image_name: `${image}`, docker_image_tag: 'v1', inline_commands: 'echo pulled-ok' };

  await docker.removeImage(`${image}:v1`);
  const wrong = await addAction(h, pipelinePath, {
    name: 'wrong',
    ...base,
    login: registry.username,
    password: 'not-the-password',
  });
  let e = await run(pipelinePath);
  const failed = e.action_executions[0];
  assert.equal(failed.status, 'FAILED');
  assert.match(failed.error_message, /unauthorized|authentication required|no basic auth/i);
  const wrongLogs = await logsOf(h, `${pipelinePath}/executions/${e.id}`, failed.action_execution_id);
  assert.ok(!wrongLogs.join('\n').includes('not-the-password'));
  assert.equal((await h.request('DELETE', `${pipelinePath}/actions/${wrong.id}`)).status, 204);

  await addAction(h, pipelinePath, {
    name: 'inline',
    ...base,
    login: registry.username,
    password: registry.password,
  });
  e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  const logs = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[0].action_execution_id,
  );
  assert.ok(logs.includes('pulled-ok'));
  assert.ok(!logs.join('\n').includes(registry.password));
  const action = (await h.request('GET', `${pipelinePath}/actions`)).body.actions[0];
  assert.ok(!JSON.stringify(action).includes(registry.password));

  await docker.removeImage(`${image}:v1`);
  const integration = await h.request('POST', '/api/workspaces/ws/integrations', {
    name: 'Test registry',
    identifier: 'test-registry',
    type: 'DOCKER_REGISTRY',
    username: registry.username,
    password: registry.password,
    host: registry.host,
  });
  assert.equal(integration.status, 201, JSON.stringify(integration.body));
  const second = await setupPipeline(h, repo);
  await addAction(h, second.pipelinePath, {
    name: 'via integration',
    ...base,
    integration: { identifier: 'test-registry' },
  });
  e = await run(second.pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  await docker.removeImage(`${image}:v1`);
});

test('DOCKER_PUSH puts a built image into the registry, and a later run pulls it', async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  await buildAction(pipelinePath);
  const push = await h.request('POST', `${pipelinePath}/actions`, {
    name: 'push',
    type: 'DOCKER_PUSH',
    docker_build_action_name: 'Build image',
    registry: registry.host,
    repository: 'team/app',
    docker_image_tag: 'release-$BUDDY_EXECUTION_ID',
    login: registry.username,
    password: registry.password,
  });
  assert.equal(push.status, 201, JSON.stringify(push.body));
  assert.ok(!JSON.stringify(push.body).includes(registry.password));
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions.map((a: any) => a.error_message)));
  const pushLogs = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[1].action_execution_id,
  );
  assert.ok(
    pushLogs.some((l) => l.includes(`Pushed ${registry.host}/team/app:release-${e.id}`)),
    pushLogs.join('\n'),
  );
  assert.ok(!pushLogs.join('\n').includes(registry.password));
  assert.equal(
    await docker.imageExists(`${registry.host}/team/app:release-${e.id}`),
    false,
    'the pushed tag was pruned locally',
  );

  const later = await setupPipeline(h, repo);
  await addAction(h, later.pipelinePath, {
    name: 'pull pushed',
    docker_image_name: `${registry.host}/team/app`,
    docker_image_tag: `release-${e.id}`,
    login: registry.username,
    password: registry.password,
    inline_commands: 'cat /only-in-built-image',
  });
  const pulled = await run(later.pipelinePath);
  assert.equal(
    pulled.status,
    'SUCCESSFUL',
    JSON.stringify(pulled.action_executions.map((a: any) => a.error_message)),
  );
  assert.deepEqual(
    await logsOf(
      h,
      `${later.pipelinePath}/executions/${pulled.id}`,
      pulled.action_executions[0].action_execution_id,
    ),
    [`Pulling image ${registry.host}/team/app:release-${e.id}...`, 'built with gantry'],
  );
  await docker.removeImage(`${registry.host}/team/app:release-${e.id}`);
});
