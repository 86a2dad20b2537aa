import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';

const SECRET = 'Sup3r-Secret-Value';
const MULTILINE = 'first-secret-line\nsecond-secret-line';

let h: Harness;
let repo: string;

before(async () => {
  h = await startGantry();
  repo = makeRepo([{ message: 'init', files: { 'README.md': 'hello\n' } }]).dir;
});
after(async () => {
  await h.close();
});

async function run(pipelinePath: string, body: Record<string, unknown> = {}): Promise<any> {
  const res = await h.request('POST', `${pipelinePath}/executions`, {
    to_revision: { revision: 'HEAD' },
    ...body,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return waitForExecution(h, `${pipelinePath}/executions/${res.body.id}`);
}

async function variable(body: Record<string, unknown>): Promise<any> {
  const res = await h.request('POST', '/api/workspaces/ws/variables', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

test("seed 004's containerUser variable runs the container as that user", async () => {
  const { pipelinePath } = await setupPipeline(h, repo);
  const action = await addAction(h, pipelinePath, {
    name: 'Run container',
    inline_commands: 'id -un',
    run_as_user: '$containerUser',
    entrypoint: '/bin/sh',
    variables: [{ key: 'containerUser', value: 'notRoot' }],
  });
  assert.equal(action.run_as_user, '$containerUser', 'the field is stored as written');
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL');
  const lines = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[0].action_execution_id,
  );
  assert.deepEqual(lines, ['notRoot']);
});

test('precedence: execution > action > pipeline > environment > project > workspace, seen inside the container', async () => {
  const { projectPath, pipelinePath, pipelineId } = await setupPipeline(h, repo);
  const projectName = projectPath.split('/').pop()!;
  const levels = ['WS', 'PROJECT', 'ENV', 'PIPELINE', 'ACTION', 'EXECUTION'];
  // Key Ln is defined at the first n levels, so each key shows which level wins over the ones below.
  for (let n = 1; n <= 6; n += 1) await variable({ key: `L${n}_${pipelineId}`, value: 'WS' });
  for (let n = 2; n <= 6; n += 1)
    await variable({ key: `L${n}_${pipelineId}`, value: 'PROJECT', project: { name: projectName } });
  const env = await h.request('POST', '/api/workspaces/ws/environments', {
    name: `Staging ${pipelineId}`,
    identifier: `staging-${pipelineId}`,
    project: { name: projectName },
    variables: [3, 4, 5, 6].map((n) => ({ key: `L${n}_${pipelineId}`, value: 'ENV' })),
  });
  assert.equal(env.status, 201, JSON.stringify(env.body));
  for (let n = 4; n <= 6; n += 1)
    await variable({ key: `L${n}_${pipelineId}`, value: 'PIPELINE', pipeline: { id: pipelineId } });
  const action = await addAction(h, pipelinePath, {
    name: 'print',
    inline_commands: levels.map((_, i) => `echo L${i + 1}=$L${i + 1}_${pipelineId}`).join('; '),
  });
  for (let n = 5; n <= 6; n += 1)
    await variable({ key: `L${n}_${pipelineId}`, value: 'ACTION', action: { id: action.id } });
  const e = await run(pipelinePath, {
    environment: `staging-${pipelineId}`,
    variables: [{ key: `L6_${pipelineId}`, value: 'EXECUTION' }],
  });
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  assert.equal(e.environment.identifier, `staging-${pipelineId}`);
  assert.equal(e.environment.id, env.body.id);
  const lines = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[0].action_execution_id,
  );
  assert.deepEqual(
    lines,
    levels.map((level, i) => `L${i + 1}=${level}`),
  );
});

test('an encrypted variable never appears in clear: responses, logs (split, multi-line, base64), errors, database file', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
  const created = await variable({
    key: `SECRET_${pipelineId}`,
    value: SECRET,
    encrypted: true,
    pipeline: { id: pipelineId },
  });
  assert.ok(!JSON.stringify(created).includes(SECRET));
  assert.match(created.value, /^!encrypted /);
  const got = await h.request('GET', `/api/workspaces/ws/variables/${created.id}`);
  assert.ok(!JSON.stringify(got.body).includes(SECRET));
  // PATCH with the shown form keeps the value.
  const kept = await h.request('PATCH', `/api/workspaces/ws/variables/${created.id}`, {
    value: created.value,
    description: 'kept',
  });
  assert.equal(kept.status, 200, JSON.stringify(kept.body));
  const S = `$SECRET_${pipelineId}`;
  const action = await addAction(h, pipelinePath, {
    name: 'leaky',
    inline_commands: [
      `echo "plain ${S}"`,
      // The value split across two writes of the container's output.
      `printf '%s' "${S}" | head -c 5; sleep 0.3; printf '%s\\n' "${S}" | tail -c +6`,
      `echo "$MULTI"`,
      `printf '%s' "${S}" | base64`,
      `echo "${S}" | base64`,
      `echo "${S}" >&2`,
    ].join('\n'),
    variables: [{ key: 'MULTI', value: MULTILINE, encrypted: true }],
  });
  assert.ok(!JSON.stringify(action).includes('second-secret-line'));
  const failing = await addAction(h, pipelinePath, { name: 'bad tag', docker_image_tag: S });
  const e = await run(pipelinePath, {
    variables: [{ key: 'RUN_SECRET', value: 'run-level-secret', encrypted: true }],
  });
  assert.equal(e.status, 'FAILED');
  const executionPath = `${pipelinePath}/executions/${e.id}`;
  const logs = (await logsOf(h, executionPath, e.action_executions[0].action_execution_id)).join('\n');
  assert.match(logs, /plain \*\*\*/);
  for (const clear of [
    SECRET,
    'first-secret-line',
    'second-secret-line',
    Buffer.from(SECRET).toString('base64'),
    Buffer.from(SECRET + '\n').toString('base64'),
  ]) {
    assert.ok(!logs.includes(clear), `log holds ${clear}:\n${logs}`);
  }
  const failed = e.action_executions.find((a: any) => a.action.id === failing.id);
  assert.equal(failed.status, 'FAILED');
  assert.ok(failed.error_message.includes('***'), failed.error_message);
  const everything = JSON.stringify(e) + JSON.stringify((await h.request('GET', executionPath)).body);
  for (const clear of [SECRET, 'run-level-secret', 'second-secret-line'])
    assert.ok(!everything.includes(clear), `response holds ${clear}`);
  const failedLogs = (await logsOf(h, executionPath, failed.action_execution_id)).join('\n');
  assert.ok(!failedLogs.includes(SECRET));
  // The database files on disk.
  for (const file of readdirSync(h.dataDir).filter((f) => f.startsWith('gantry.db'))) {
    const bytes = readFileSync(path.join(h.dataDir, file));
    for (const clear of [SECRET, 'run-level-secret', 'second-secret-line'])
      assert.equal(bytes.indexOf(clear), -1, `${file} holds ${clear}`);
  }
});

test('a FILE variable arrives in the container with its content and mode', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
  await variable({
    key: `CONFIG_${pipelineId}`,
    value: 'key=value\nsecond line',
    type: 'FILE',
    file_place: 'CONTAINER',
    file_path: '~/conf/app.conf',
    file_chmod: '640',
    pipeline: { id: pipelineId },
  });
  await addAction(h, pipelinePath, {
    name: 'read file',
    run_as_user: 'notRoot',
    inline_commands: 'cat /home/notRoot/conf/app.conf; echo; stat -c "%a %U" /home/notRoot/conf/app.conf',
  });
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  const lines = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[0].action_execution_id,
  );
  assert.deepEqual(lines, ['key=value', 'second line', '640 notRoot']);
});

test('outputs: a KEY=value written to $GANTRY_OUTPUTS reaches later actions and updates a settable variable', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
  const stored = await variable({
    key: `VERSION_${pipelineId}`,
    value: '1.0.0',
    settable: true,
    pipeline: { id: pipelineId },
  });
  await addAction(h, pipelinePath, {
    name: 'bump',
    inline_commands: `echo "VERSION_${pipelineId}=1.0.1" >> "$GANTRY_OUTPUTS"; echo "BUILD_NAME=nightly" >> "$GANTRY_OUTPUTS"`,
  });
  await addAction(h, pipelinePath, {
    name: 'use',
    inline_commands: `echo "$VERSION_${pipelineId} $BUILD_NAME"`,
  });
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  const [first, second] = e.action_executions;
  assert.deepEqual(
    first.outputted_variables.map((v: any) => [v.key, v.value]),
    [
      [`VERSION_${pipelineId}`, '1.0.1'],
      ['BUILD_NAME', 'nightly'],
    ],
  );
  assert.deepEqual(
    second.passed_variables.map((v: any) => v.key).sort(),
    ['BUILD_NAME', `VERSION_${pipelineId}`].sort(),
  );
  assert.deepEqual(await logsOf(h, `${pipelinePath}/executions/${e.id}`, second.action_execution_id), [
    '1.0.1 nightly',
  ]);
  const after = await h.request('GET', `/api/workspaces/ws/variables/${stored.id}`);
  assert.equal(after.body.value, '1.0.1', 'settable variable keeps the value for future runs');
});

test('built-in BUDDY_* variables carry the running execution', async () => {
  const { pipelinePath, pipelineId } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, {
    name: 'builtins',
    inline_commands:
      'echo "$BUDDY_EXECUTION_ID $BUDDY_PIPELINE_ID $BUDDY_EXECUTION_BRANCH $BUDDY_EXECUTION_REVISION $BUDDY_WORKSPACE_DOMAIN"',
    export_container_path: 'release-$BUDDY_EXECUTION_ID-staging.tar',
  });
  const e = await run(pipelinePath);
  assert.equal(e.status, 'SUCCESSFUL', JSON.stringify(e.action_executions));
  const lines = await logsOf(
    h,
    `${pipelinePath}/executions/${e.id}`,
    e.action_executions[0].action_execution_id,
  );
  assert.equal(lines[0], `${e.id} ${pipelineId} master ${e.to_revision.revision} ws`);
  const exported = path.join(h.dataDir, 'pipelines', String(pipelineId), 'fs', `release-${e.id}-staging.tar`);
  assert.ok(readFileSync(exported).length > 0, 'the substituted export path was written');
});
