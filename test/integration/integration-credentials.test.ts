/**
 * An action's `"integration": {"identifier": ...}` takes its registry credentials from the workspace
 * integration: a missing one fails the action naming it, and credentials for one registry are never
 * sent to another. (Pulls from a password-protected registry are covered by the registry tests.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addAction,
  logsOf,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';

let h: Harness;
let repo: string;

before(async () => {
  h = await startGantry();
  repo = makeRepo([{ message: 'init', files: { 'README.md': 'hello\n' } }]).dir;
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
});
after(() => h.close());

async function runWith(
  integration: string,
): Promise<{ status: string; error: string | null; logs: string[] }> {
  const { pipelinePath } = await setupPipeline(h, repo);
  await addAction(h, pipelinePath, {
    name: 'pull',
    inline_commands: 'echo ran',
    integration: { identifier: integration },
  });
  const res = await h.request('POST', `${pipelinePath}/executions`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const e = await waitForExecution(h, `${pipelinePath}/executions/${res.body.id}`);
  const a = e.action_executions[0];
  return {
    status: a.status,
    error: a.error_message,
    logs: await logsOf(h, `${pipelinePath}/executions/${e.id}`, a.action_execution_id),
  };
}

test('an integration that does not exist fails the action naming it', async () => {
  const r = await runWith('missing-registry');
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error, 'integration "missing-registry" not found');
});

test('an existing Docker Hub integration lets the action run (the image is present, so nothing is pulled)', async () => {
  const created = await h.request('POST', '/api/workspaces/ws/integrations', {
    name: 'Hub',
    identifier: 'hub',
    type: 'DOCKER_HUB',
    username: 'u',
    password: 'hub-pass-123',
  });
  assert.equal(created.status, 201);
  const r = await runWith('hub');
  assert.equal(r.status, 'SUCCESSFUL', r.error ?? '');
  assert.deepEqual(r.logs, ['ran']);
});

test('credentials for another registry are refused before any pull, without the password', async () => {
  const created = await h.request('POST', '/api/workspaces/ws/integrations', {
    name: 'Local',
    identifier: 'local',
    type: 'DOCKER_REGISTRY',
    username: 'u',
    password: 'local-pass-456',
    host: '127.0.0.1:5999',
  });
  assert.equal(created.status, 201);
  const r = await runWith('local');
  assert.equal(r.status, 'FAILED');
  assert.match(
    r.error ?? '',
    /holds credentials for 127\.0\.0\.1:5999, but image gantry-test\/busybox:latest comes from docker\.io/,
  );
  assert.ok(!JSON.stringify(r).includes('local-pass-456'));
});
