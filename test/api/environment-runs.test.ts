import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  addAction,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';

/**
 * Running a pipeline in an environment: the environment must let the pipeline in (pipelines_access_level,
 * allowed_pipelines) for every run, and a member must hold USE_ONLY on it (its permissions, DEFAULT
 * inheriting the project set's environment_access_level); one who may not see it gets the 404 of a
 * missing environment.
 */
let h: Harness;
let repo: { dir: string };
let projectName: string;
let pipelinePath: string;
let member: { id: number; token: string };
const W = '/api/workspaces/ws';

async function run(environment: string, token?: string) {
  return h.request('POST', `${pipelinePath}/executions`, { environment }, token ? { token } : {});
}

/** Waits for an accepted run, so none is left running when the server closes. */
async function finished(res: { status: number; body: any }): Promise<void> {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await waitForExecution(h, `${pipelinePath}/executions/${res.body.id}`);
}

async function environment(identifier: string, fields: Record<string, unknown>): Promise<string> {
  const created = await h.request('POST', `${W}/environments`, {
    name: identifier,
    identifier,
    project: { name: projectName },
    ...fields,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id;
}

before(async () => {
  h = await startGantry();
  repo = makeRepo([{ message: 'init', files: { 'a.txt': 'a' } }]);
  const setup = await setupPipeline(h, repo.dir, { name: 'Deploy' });
  pipelinePath = setup.pipelinePath;
  projectName = setup.projectPath.split('/').pop()!;
  await addAction(h, pipelinePath, { name: 'step' });
  // A member holding the built-in Developer set in the project (pipelines RUN_ONLY, environments USE_ONLY).
  const invited = await h.request('POST', `${W}/members`, { email: 'dev@example.com' });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  const link = new URL(invited.body.invitation_url.replace('/#/', '/'));
  const password = 'correct horse battery';
  const set = await h.request(
    'POST',
    '/api/auth/password',
    { token: link.searchParams.get('token'), password },
    { token: null },
  );
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const signIn = await h.request(
    'POST',
    '/api/auth/sign-in',
    { email: 'dev@example.com', password },
    { token: null },
  );
  assert.equal(signIn.status, 201, JSON.stringify(signIn.body));
  member = { id: invited.body.id, token: signIn.body.token };
  const sets = (await h.request('GET', `${W}/permissions`)).body.permission_sets;
  const developer = sets.find((s: { type: string }) => s.type === 'DEVELOPER');
  const added = await h.request('POST', `${W}/projects/${projectName}/members`, {
    id: member.id,
    permission_set: { id: developer.id },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
});

after(async () => {
  await h.close();
  rmSync(repo.dir, { recursive: true, force: true });
});

test('an environment with pipelines_access_level DENIED refuses the run unless allowed_pipelines lets the pipeline in', async () => {
  const id = await environment('closed', { pipelines_access_level: 'DENIED' });
  const refused = await run('closed');
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.match(refused.body.errors[0].message, /allowed_pipelines/);
  assert.equal((await h.request('GET', `${pipelinePath}/executions`)).body.executions.length, 0);
  const patched = await h.request('PATCH', `${W}/environments/${id}`, {
    allowed_pipelines: [{ project: projectName, pipeline: 'Deploy', access_level: 'USE_ONLY' }],
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await finished(await run('closed'));
  // An entry can also shut out one pipeline of an environment open to all.
  await environment('open-but-not-deploy', {
    allowed_pipelines: [{ project: projectName, pipeline: 'Deploy', access_level: 'DENIED' }],
  });
  assert.equal((await run('open-but-not-deploy')).status, 403);
});

test("a member needs USE_ONLY on the environment: its own permissions, DEFAULT inheriting the project set's level", async () => {
  // DEFAULT: the Developer set's environment_access_level (USE_ONLY) applies.
  await environment('staging', { permissions: { others: 'DEFAULT', users: [], groups: [] } });
  await finished(await run('staging', member.token));
  // DENIED for others: the member cannot tell it from a missing environment.
  const hidden = await environment('production', {
    permissions: { others: 'DENIED', users: [], groups: [] },
  });
  const denied = await run('production', member.token);
  assert.equal(denied.status, 404, JSON.stringify(denied.body));
  assert.equal(
    denied.body.errors[0].message,
    (await run('no-such-env', member.token)).body.errors[0].message.replace('no-such-env', 'production'),
  );
  // A grant to the member opens it again; the workspace owner was never limited.
  const granted = await h.request('PATCH', `${W}/environments/${hidden}`, {
    permissions: { others: 'DENIED', users: [{ id: member.id, access_level: 'USE_ONLY' }], groups: [] },
  });
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  const accepted = await run('production', member.token);
  await finished(accepted);
  // RETRY re-runs in the environment, so it is checked again.
  await h.request('PATCH', `${W}/environments/${hidden}`, {
    permissions: { others: 'DENIED', users: [], groups: [] },
  });
  const retried = await h.request(
    'PATCH',
    `${pipelinePath}/executions/${accepted.body.id}`,
    { operation: 'RETRY' },
    { token: member.token },
  );
  assert.equal(retried.status, 404, JSON.stringify(retried.body));
  await finished(await run('production'));
});
