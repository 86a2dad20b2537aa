import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { eventually, gitClient, withCredentials } from '../support/git-client.ts';
import { addAction, git, makeRepo, startGantry, waitForExecution, type Harness } from '../support/harness.ts';

let h: Harness;
let repoUrl: string;
let pusherToken: string;
let pusherId: number;
const PROJECT = '/api/workspaces/ws/projects/site';
const local = makeRepo([
  { message: 'first', files: { 'a.txt': '1\n' } },
  { message: 'second', files: { 'a.txt': '2\n' } },
]);

async function pipeline(body: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', `${PROJECT}/pipelines`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const path = `${PROJECT}/pipelines/${res.body.id}`;
  await addAction(h, path, { name: 'ok' });
  return path;
}

async function executions(path: string): Promise<any[]> {
  return (await h.request('GET', `${path}/executions?per_page=100`)).body.executions;
}

before(async () => {
  h = await startGantry({ listen: true });
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = await h.request('POST', '/api/workspaces/ws/projects', {
    display_name: 'Site',
    name: 'site',
  });
  repoUrl = project.body.http_repository;
  // The push comes from a token of the admin: the creator of triggered runs is the pusher.
  const token = await h.request('POST', '/api/user/tokens', {
    name: 'pusher',
    scopes: ['REPOSITORY_READ', 'REPOSITORY_WRITE'],
  });
  pusherToken = token.body.token;
  pusherId = (await h.request('GET', '/api/user')).body.id;
});

after(async () => {
  await h.close();
  rmSync(local.dir, { recursive: true, force: true });
});

test('a git push over HTTP starts matching PUSH / CREATE_REF / DELETE_REF pipelines, once per ref, as the pusher', async () => {
  const master = await pipeline({ name: 'master', events: [{ type: 'PUSH', refs: ['refs/heads/master'] }] });
  const branches = await pipeline({ name: 'branches', events: [{ type: 'PUSH', refs: ['refs/heads/*'] }] });
  const tags = await pipeline({ name: 'tags', events: [{ type: 'CREATE_REF', refs: ['refs/tags/v*'] }] });
  const deletes = await pipeline({ name: 'deletes', events: [{ type: 'DELETE_REF', refs: ['feature/*'] }] });
  const plain = await pipeline({ name: 'plain', events: [{ type: 'PUSH', refs: ['master'] }] });
  const manual = await pipeline({ name: 'manual' });

  // First push: master at the first commit.
  git(local.dir, 'checkout', '-q', local.shas[0]!);
  git(local.dir, 'branch', '-f', 'first', local.shas[0]!);
  let res = await gitClient(local.dir, 'push', withCredentials(repoUrl, pusherToken), 'first:master');
  assert.ok(res.ok, res.stderr);
  const firstRun = await eventually(async () => (await executions(master))[0]);
  assert.equal(firstRun.triggered_on, 'EVENT');
  assert.equal(firstRun.to_revision.revision, local.shas[0]);
  assert.equal(firstRun.branch.name, 'master');
  assert.equal(firstRun.creator.id, pusherId);

  // Second push: master moves, a feature branch and a tag are created in one push.
  git(local.dir, 'tag', '-f', 'v1.0', local.shas[1]!);
  git(local.dir, 'tag', '-f', 'other', local.shas[1]!);
  git(local.dir, 'branch', '-f', 'feature/login', local.shas[1]!);
  res = await gitClient(
    local.dir,
    'push',
    withCredentials(repoUrl, pusherToken),
    `${local.shas[1]}:refs/heads/master`,
    'feature/login',
    'v1.0',
    'other',
  );
  assert.ok(res.ok, res.stderr);
  const second = await eventually(async () => {
    const list = await executions(master);
    return list.length === 2 && list[0];
  });
  assert.equal(second.to_revision.revision, local.shas[1]);
  assert.equal(
    second.from_revision.revision,
    local.shas[0],
    'the changeset starts at the pushed-over revision',
  );
  const branchRuns = await eventually(async () => {
    const list = await executions(branches);
    return list.length === 3 && list;
  });
  assert.deepEqual(branchRuns.map((e: any) => e.branch.name).sort(), ['feature/login', 'master', 'master']);
  const tagRuns = await eventually(async () => {
    const list = await executions(tags);
    return list.length > 0 && list;
  });
  assert.equal(tagRuns.length, 1, 'only v* tags');
  assert.equal(tagRuns[0].tag.name, 'v1.0');
  assert.equal((await executions(plain)).length, 2, 'a plain branch name matches that branch');

  // Third push: the feature branch is deleted.
  res = await gitClient(local.dir, 'push', withCredentials(repoUrl, pusherToken), ':feature/login');
  assert.ok(res.ok, res.stderr);
  const deleted = await eventually(async () => (await executions(deletes))[0]);
  assert.equal(deleted.branch.name, 'feature/login');
  assert.equal(deleted.to_revision.revision, local.shas[1]);
  assert.equal((await executions(branches)).length, 3, 'a deletion is no push');
  assert.equal((await executions(manual)).length, 0, 'a pipeline without events never starts itself');

  const done = await waitForExecution(h, `${master}/executions/${second.id}`);
  assert.equal(done.status, 'SUCCESSFUL');
});

test('a disabled pipeline is not started by a push; the pipeline shows the skipped trigger', async () => {
  const path = await pipeline({
    name: 'disabled',
    events: [{ type: 'PUSH', refs: ['refs/heads/hotfix'] }],
    disabled: true,
    disabled_reason: 'frozen',
  });
  const res = await gitClient(
    local.dir,
    'push',
    withCredentials(repoUrl, pusherToken),
    `${local.shas[0]}:refs/heads/hotfix`,
  );
  assert.ok(res.ok, res.stderr);
  const skipped = await eventually(async () => (await h.request('GET', path)).body.last_skipped_trigger);
  assert.equal(skipped.trigger, 'PUSH');
  assert.equal(skipped.ref, 'refs/heads/hotfix');
  assert.match(skipped.reason, /disabled: frozen/);
  assert.equal((await executions(path)).length, 0);
});

test('push events on an external repository are accepted (external-triggers.test.ts runs them)', async () => {
  const project = await h.request('POST', '/api/workspaces/ws/projects', {
    display_name: 'Ext',
    name: 'ext',
    custom_repo_url: local.dir,
  });
  assert.equal(project.status, 201);
  const res = await h.request('POST', '/api/workspaces/ws/projects/ext/pipelines', {
    name: 'x',
    events: [{ type: 'PUSH', refs: ['master'] }],
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body.events[0].refs, ['master']);
});
