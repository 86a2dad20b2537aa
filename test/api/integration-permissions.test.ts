import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addAction,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';

/**
 * Integration permissions hold for what actions name and what runs use: a pipeline editor cannot save
 * an action naming an integration they may not use (403), and a run whose actions name one fails at
 * its start, before any container, when the user it is attributed to may not use it (a run started
 * by hand: the caller). A SUCCESS_PIPELINE condition naming a pipeline the run's user may not see
 * reads as naming no pipeline, so its status does not leak; a package version pinned in a run must be
 * readable by the caller.
 */
let h: Harness;
let pipelinePath: string;
let projectName: string;
let editor: { id: number; token: string; email: string };
const W = '/api/workspaces/ws';
const DENY_OTHERS = { admins: 'MANAGE', others: 'DENIED', users: [], groups: [] };

/** Invites `email`, sets a password through the invitation and signs in; returns the member's id and token. */
async function member(email: string): Promise<{ id: number; token: string; email: string }> {
  const invited = await h.request('POST', `${W}/members`, { email });
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
  const signIn = await h.request('POST', '/api/auth/sign-in', { email, password }, { token: null });
  assert.equal(signIn.status, 201, JSON.stringify(signIn.body));
  return { id: invited.body.id, token: signIn.body.token, email };
}

async function integration(identifier: string, permissions?: object): Promise<void> {
  const created = await h.request('POST', `${W}/integrations`, {
    name: identifier,
    identifier,
    type: 'DOCKER_HUB',
    username: 'u',
    password: `${identifier}-secret-pass`,
    ...(permissions ? { permissions } : {}),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
}

const actionsOf = async (path: string) => (await h.request('GET', `${path}/actions`)).body.actions;

before(async () => {
  h = await startGantry();
  const repo = makeRepo([{ message: 'init', files: { 'a.txt': 'a' } }]);
  const setup = await setupPipeline(h, repo.dir, { name: 'Build' });
  pipelinePath = setup.pipelinePath;
  projectName = setup.projectPath.split('/').pop()!;
  editor = await member('editor@example.com');
  // The built-in Developer set (pipelines RUN_ONLY), raised to READ_WRITE on this pipeline.
  const sets = (await h.request('GET', `${W}/permissions`)).body.permission_sets;
  const developer = sets.find((s: { type: string }) => s.type === 'DEVELOPER');
  const added = await h.request('POST', `${W}/projects/${projectName}/members`, {
    id: editor.id,
    permission_set: { id: developer.id },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const raised = await h.request('PATCH', pipelinePath, {
    permissions: { others: 'DEFAULT', users: [{ id: editor.id, access_level: 'READ_WRITE' }], groups: [] },
  });
  assert.equal(raised.status, 200, JSON.stringify(raised.body));
  await integration('denied-hub', DENY_OTHERS);
  await integration('open-hub');
});
after(() => h.close());

test('an editor cannot save an action naming an integration they may not use; one they may use, or none, saves', async () => {
  const as = { token: editor.token };
  const action = (name: string, identifier: string) => ({
    name,
    type: 'RUN_DOCKER_CONTAINER',
    docker_image_name: 'gantry-test/busybox',
    docker_image_tag: 'latest',
    inline_commands: 'true',
    integration: { identifier },
  });
  const denied = await h.request('POST', `${pipelinePath}/actions`, action('a', 'denied-hub'), as);
  assert.equal(denied.status, 403, JSON.stringify(denied.body));
  assert.match(denied.body.errors[0].message, /integration "denied-hub".*USE_ONLY.*you have DENIED/);
  assert.deepEqual(await actionsOf(pipelinePath), [], 'nothing was stored');

  const open = await h.request('POST', `${pipelinePath}/actions`, action('open', 'open-hub'), as);
  assert.equal(open.status, 201, JSON.stringify(open.body));
  // Pointing a saved action at a denied integration is refused too, and leaves it as it was.
  const repointed = await h.request(
    'PATCH',
    `${pipelinePath}/actions/${open.body.id}`,
    { integration: { identifier: 'denied-hub' } },
    as,
  );
  assert.equal(repointed.status, 403, JSON.stringify(repointed.body));
  assert.equal((await actionsOf(pipelinePath))[0].integration.identifier, 'open-hub');

  // An action an administrator pointed at the denied integration: the editor may not change it
  // (its image or registry decide where the credentials go), the administrator may.
  const byAdmin = await h.request('PATCH', `${pipelinePath}/actions/${open.body.id}`, {
    integration: { identifier: 'denied-hub' },
  });
  assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
  const retagged = await h.request(
    'PATCH',
    `${pipelinePath}/actions/${open.body.id}`,
    { docker_image_name: 'attacker.example/busybox' },
    as,
  );
  assert.equal(retagged.status, 403, JSON.stringify(retagged.body));
  assert.equal((await actionsOf(pipelinePath))[0].docker_image_name, 'gantry-test/busybox');
  assert.equal(
    (await h.request('DELETE', `${pipelinePath}/actions/${open.body.id}`, undefined, as)).status,
    204,
  );
});

test('a run naming an integration its user may not use fails at its start, before any container; an allowed user runs it', async () => {
  const { pipelinePath: path } = await setupPipeline(h, makeRepo([{ message: 'i', files: { b: 'b' } }]).dir);
  const project = path.split('/pipelines/')[0]!.split('/').pop()!;
  const sets = (await h.request('GET', `${W}/permissions`)).body.permission_sets;
  const developer = sets.find((s: { type: string }) => s.type === 'DEVELOPER');
  const added = await h.request('POST', `${W}/projects/${project}/members`, {
    id: editor.id,
    permission_set: { id: developer.id },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  await addAction(h, path, { name: 'first', inline_commands: 'echo first' });
  await addAction(h, path, {
    name: 'pull',
    inline_commands: 'echo pulled',
    integration: { identifier: 'denied-hub' },
  });

  // The editor (RUN_ONLY here) starts it: the run fails naming the integration and the user, and no action ran.
  const started = await h.request('POST', `${path}/executions`, {}, { token: editor.token });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const failed = await waitForExecution(h, `${path}/executions/${started.body.id}`);
  assert.equal(failed.status, 'FAILED');
  assert.match(
    failed.error_message,
    /action "pull" uses integration "denied-hub", which editor@example\.com \(who started the run\) may not use: their access to it is DENIED/,
  );
  assert.deepEqual(
    failed.action_executions.map((a: { status: string }) => a.status),
    ['NOT_EXECUTED', 'NOT_EXECUTED'],
    'not even the first action ran',
  );
  assert.equal(failed.creator.email, 'editor@example.com');
  // Nor may the editor retry it, or retry a run of someone who may.
  const retry = await h.request(
    'PATCH',
    `${path}/executions/${started.body.id}`,
    { operation: 'RETRY' },
    { token: editor.token },
  );
  assert.equal(retry.status, 403, JSON.stringify(retry.body));
  assert.match(retry.body.errors[0].message, /integration "denied-hub", which you may not use/);

  // The administrator may use it: the same pipeline runs (the image is present, so nothing is pulled).
  const byAdmin = await h.request('POST', `${path}/executions`, {});
  assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
  const ran = await waitForExecution(h, `${path}/executions/${byAdmin.body.id}`);
  assert.equal(ran.status, 'SUCCESSFUL', JSON.stringify(ran));

  // Granting the editor USE_ONLY on the integration lets their run through.
  const granted = await h.request('PATCH', `${W}/integrations/denied-hub`, {
    permissions: { ...DENY_OTHERS, users: [{ id: editor.id, access_level: 'USE_ONLY' }] },
  });
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  const again = await h.request('POST', `${path}/executions`, {}, { token: editor.token });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal((await waitForExecution(h, `${path}/executions/${again.body.id}`)).status, 'SUCCESSFUL');
  const restored = await h.request('PATCH', `${W}/integrations/denied-hub`, { permissions: DENY_OTHERS });
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
});

test("SUCCESS_PIPELINE naming a pipeline the run's user may not see reads as naming none", async () => {
  const hidden = await h.request('POST', `${W}/projects/${projectName}/pipelines`, {
    name: 'hidden',
    permissions: { others: 'DEFAULT', users: [{ id: editor.id, access_level: 'DENIED' }], groups: [] },
  });
  assert.equal(hidden.status, 201, JSON.stringify(hidden.body));
  const gated = await h.request('POST', `${W}/projects/${projectName}/pipelines`, {
    name: 'gated',
    trigger_conditions: [
      {
        trigger_condition: 'SUCCESS_PIPELINE',
        trigger_project_name: projectName,
        trigger_pipeline_name: 'hidden',
      },
    ],
  });
  assert.equal(gated.status, 201, JSON.stringify(gated.body));
  const gatedPath = `${W}/projects/${projectName}/pipelines/${gated.body.id}`;
  await addAction(h, gatedPath, { name: 'step' });
  const asAdmin = await h.request('POST', `${gatedPath}/executions`, {});
  assert.equal(asAdmin.status, 400);
  assert.match(asAdmin.body.errors[0].message, /the last run of ".*\/hidden" is INITIAL/);
  const asEditor = await h.request('POST', `${gatedPath}/executions`, {}, { token: editor.token });
  assert.equal(asEditor.status, 400);
  assert.match(asEditor.body.errors[0].message, /there is no pipeline ".*\/hidden"/);
});

test('pinning a package version the caller may not read answers the 404 of a missing package', async () => {
  const { pipelinePath: path } = await setupPipeline(h, makeRepo([{ message: 'i', files: { c: 'c' } }]).dir);
  const project = path.split('/pipelines/')[0]!.split('/').pop()!;
  await addAction(h, path, { name: 'step' });
  const set = await h.request('POST', `${W}/permissions`, {
    name: 'runs without the repository',
    pipeline_access_level: 'RUN_ONLY',
    repository_access_level: 'DENIED',
    project_team_access_level: null,
    sandbox_access_level: 'READ_ONLY',
  });
  assert.equal(set.status, 201, JSON.stringify(set.body));
  const added = await h.request('POST', `${W}/projects/${project}/members`, {
    id: editor.id,
    permission_set: { id: set.body.id },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const pkg = await h.request('POST', `${W}/packages`, {
    name: 'Bundle',
    identifier: 'bundle',
    scope: 'PROJECT',
    project: { name: project },
  });
  assert.equal(pkg.status, 201, JSON.stringify(pkg.body));
  const asEditor = await h.request(
    'POST',
    `${path}/executions`,
    { package_version: 'bundle:1.0' },
    { token: editor.token },
  );
  assert.equal(asEditor.status, 404, JSON.stringify(asEditor.body));
  assert.equal(asEditor.body.errors[0].message, 'package "bundle" not found');
  // The administrator sees the package: only the version is missing.
  const asAdmin = await h.request('POST', `${path}/executions`, { package_version: 'bundle:1.0' });
  assert.equal(asAdmin.status, 404, JSON.stringify(asAdmin.body));
  assert.match(asAdmin.body.errors[0].message, /version "1\.0" of package "bundle" not found/);
});
