/**
 * External repositories (custom_repo_url, here real local git repositories behind file:// URLs)
 * start pipelines like hosted pushes do: by polling on the clock, and through the per-project push
 * endpoint that GitHub, GitLab and Gitea call, each verified; a wrong signature changes nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { eventually } from '../support/git-client.ts';
import { addAction, git, makeRepo, startGantry, waitForExecution, type Harness } from '../support/harness.ts';
import { removeDirs } from '../support/runs.ts';

let h: Harness;
let me: { id: number; email: string };
const W = '/api/workspaces/ws';
const repos: string[] = [];

before(async () => {
  // No polling unless a project asks for it, so the forge tests see only their own calls.
  h = await startGantry({ config: { repositoryPollSeconds: 0 } });
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  me = (await h.request('GET', '/api/user')).body;
});
after(async () => {
  await h.close();
  removeDirs(...repos);
});

/** A source repository, a project on it (file:// URL) and a PUSH pipeline with one action. */
async function externalProject(name: string, events: unknown[] = [{ type: 'PUSH', refs: ['master'] }]) {
  const source = makeRepo([{ message: 'first', files: { 'a.txt': '1\n' } }]);
  repos.push(source.dir);
  const project = await h.request('POST', `${W}/projects`, {
    display_name: name,
    name,
    custom_repo_url: `file://${source.dir}`,
  });
  assert.equal(project.status, 201, JSON.stringify(project.body));
  const pipeline = await h.request('POST', `${W}/projects/${name}/pipelines`, { name: 'on push', events });
  assert.equal(pipeline.status, 201, JSON.stringify(pipeline.body));
  const pipelinePath = `${W}/projects/${name}/pipelines/${pipeline.body.id}`;
  await addAction(h, pipelinePath, { name: 'ok' });
  const row = await h.gantry.db
    .selectFrom('projects')
    .select('id')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return { source: source.dir, projectId: row.id, pipelinePath, first: source.shas[0]! };
}

async function executions(p: string): Promise<any[]> {
  return (await h.request('GET', `${p}/executions?per_page=100`)).body.executions;
}

function commit(dir: string, message: string): string {
  git(dir, 'commit', '-q', '--allow-empty', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

async function stateOf(projectId: number) {
  return h.gantry.db
    .selectFrom('external_repositories')
    .selectAll()
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
}

test('polling: a project polled every second runs its PUSH and CREATE_REF pipelines on new commits and tags', async () => {
  const p = await externalProject('polled', [
    { type: 'PUSH', refs: ['master'] },
    { type: 'CREATE_REF', refs: ['refs/tags/v*'] },
  ]);
  const interval = await h.request('PATCH', `${W}/projects/polled/external-repository`, { poll_interval: 1 });
  assert.equal(interval.status, 200, JSON.stringify(interval.body));
  assert.equal(interval.body.poll_interval, 1);
  assert.equal(interval.body.effective_poll_interval, 1);
  // The first poll takes the refs as they are: the project does not run on its history.
  await eventually(
    async () => (await h.request('GET', `${W}/projects/polled/external-repository`)).body.last_poll_date,
  );
  assert.equal((await executions(p.pipelinePath)).length, 0);

  const second = commit(p.source, 'second');
  const run = await eventually(async () => (await executions(p.pipelinePath))[0]);
  assert.equal(run.triggered_on, 'EVENT');
  assert.equal(run.to_revision.revision, second);
  assert.equal(run.from_revision.revision, p.first, 'the changeset starts at the revision it replaced');
  assert.equal(run.branch.name, 'master');
  assert.equal(run.creator.id, me.id, "the project's creator, as no forge named a pusher");
  assert.equal((await waitForExecution(h, `${p.pipelinePath}/executions/${run.id}`)).status, 'SUCCESSFUL');

  git(p.source, 'tag', 'v1.0');
  const tagRun = await eventually(async () => {
    const list = await executions(p.pipelinePath);
    return list.length === 2 && list[0];
  });
  assert.equal(tagRun.tag.name, 'v1.0');
  assert.equal(tagRun.to_revision.revision, second);

  // Polling off: a new commit starts nothing (the next poll date is gone and no poll happens).
  const off = await h.request('PATCH', `${W}/projects/polled/external-repository`, { poll_interval: 0 });
  assert.equal(off.body.effective_poll_interval, 0);
  const polledAt = (await stateOf(p.projectId)).last_poll_at;
  commit(p.source, 'third');
  assert.equal(await h.gantry.triggers.externalRepositories.tick(), 30_000);
  assert.equal((await stateOf(p.projectId)).last_poll_at, polledAt);
  assert.equal((await executions(p.pipelinePath)).length, 2);
});

/** Sends a forge's push call for project `id` with `body` (raw JSON) and the forge's headers. */
function call(id: number, body: string, headers: Record<string, string>) {
  return h.request('POST', `/api/trigger/projects/${id}/push`, undefined, {
    token: null,
    raw: body,
    headers,
  });
}

const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

test('GitHub: a push signed with X-Hub-Signature-256 runs the pipeline as the pushing member; a wrong signature changes nothing', async () => {
  const p = await externalProject('gh');
  const created = await h.request('POST', `${W}/projects/gh/external-repository/push-secret`);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const secret: string = created.body.push_secret;
  assert.equal(created.body.push_url, `${h.baseUrl}/api/trigger/projects/${p.projectId}/push`);
  assert.equal((await h.request('GET', `${W}/projects/gh/external-repository`)).body.push_secret, undefined);

  const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
  const pong = await call(p.projectId, ping, {
    'x-github-event': 'ping',
    'x-hub-signature-256': `sha256=${hmac(secret, ping)}`,
  });
  assert.equal(pong.status, 200);
  assert.equal(pong.body.checked, false);

  const after = commit(p.source, 'second');
  const body = JSON.stringify({
    ref: 'refs/heads/master',
    before: p.first,
    after,
    pusher: { name: 'admin', email: me.email.toUpperCase() },
  });
  const before = await stateOf(p.projectId);
  for (const signature of [
    `sha256=${hmac('wrong', body)}`,
    `sha256=${hmac(secret, `${body} `)}`,
    '',
    hmac(secret, body),
  ]) {
    const refused = await call(p.projectId, body, {
      'x-github-event': 'push',
      'x-hub-signature-256': signature,
    });
    assert.equal(refused.status, 403, signature);
    assert.match(refused.body.errors[0].message, /does not match/);
  }
  assert.deepEqual(await stateOf(p.projectId), before, 'a refused call changes nothing');
  assert.equal((await executions(p.pipelinePath)).length, 0);

  const res = await call(p.projectId, body, {
    'x-github-event': 'push',
    'x-hub-signature-256': `sha256=${hmac(secret, body)}`,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.forge, 'github');
  assert.deepEqual(res.body.refs, [{ ref: 'refs/heads/master', before: p.first, after }]);
  assert.equal(res.body.executions.length, 1);
  const [run] = await executions(p.pipelinePath);
  assert.equal(run.to_revision.revision, after);
  assert.equal(run.creator.email, me.email, 'the pusher is a member: the run is theirs');

  // The same call again (a forge's redelivery) finds nothing new and starts nothing.
  const again = await call(p.projectId, body, {
    'x-github-event': 'push',
    'x-hub-signature-256': `sha256=${hmac(secret, body)}`,
  });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body.executions, []);
  assert.equal((await executions(p.pipelinePath)).length, 1);

  // GitHub's form encoding carries the same payload.
  const third = commit(p.source, 'third');
  const form = `payload=${encodeURIComponent(JSON.stringify({ ref: 'refs/heads/master', after: third }))}`;
  const formCall = await call(p.projectId, form, {
    'content-type': 'application/x-www-form-urlencoded',
    'x-github-event': 'push',
    'x-hub-signature-256': `sha256=${hmac(secret, form)}`,
  });
  assert.equal(formCall.status, 200, JSON.stringify(formCall.body));
  assert.equal(formCall.body.executions.length, 1);
});

test('GitLab (X-Gitlab-Token) and Gitea (X-Gitea-Signature): verified calls run, wrong ones are 403 and run nothing', async () => {
  const gl = await externalProject('gl');
  const glSecret = (await h.request('POST', `${W}/projects/gl/external-repository/push-secret`)).body
    .push_secret;
  const glAfter = commit(gl.source, 'second');
  const glBody = JSON.stringify({
    object_kind: 'push',
    ref: 'refs/heads/master',
    after: glAfter,
    user_email: 'x@y.z',
  });
  const wrongToken = await call(gl.projectId, glBody, {
    'x-gitlab-event': 'Push Hook',
    'x-gitlab-token': 'nope',
  });
  assert.equal(wrongToken.status, 403);
  assert.equal((await executions(gl.pipelinePath)).length, 0);
  const glRes = await call(gl.projectId, glBody, {
    'x-gitlab-event': 'Push Hook',
    'x-gitlab-token': glSecret,
  });
  assert.equal(glRes.status, 200, JSON.stringify(glRes.body));
  assert.equal(glRes.body.forge, 'gitlab');
  assert.equal(glRes.body.executions.length, 1);
  const [glRun] = await executions(gl.pipelinePath);
  assert.equal(glRun.to_revision.revision, glAfter);
  assert.equal(glRun.creator.id, me.id, 'an unknown pusher: the project creator');

  const gt = await externalProject('gt');
  const gtSecret = (await h.request('POST', `${W}/projects/gt/external-repository/push-secret`)).body
    .push_secret;
  const gtAfter = commit(gt.source, 'second');
  const gtBody = JSON.stringify({ ref: 'refs/heads/master', after: gtAfter, pusher: { email: me.email } });
  // Gitea also sends GitHub-style headers; its own signature is the one checked.
  const wrongSig = await call(gt.projectId, gtBody, {
    'x-gitea-event': 'push',
    'x-github-event': 'push',
    'x-gitea-signature': hmac('wrong', gtBody),
    'x-hub-signature-256': `sha256=${hmac(gtSecret, gtBody)}`,
  });
  assert.equal(wrongSig.status, 403);
  assert.equal((await executions(gt.pipelinePath)).length, 0);
  const gtRes = await call(gt.projectId, gtBody, {
    'x-gitea-event': 'push',
    'x-gitea-signature': hmac(gtSecret, gtBody),
  });
  assert.equal(gtRes.status, 200, JSON.stringify(gtRes.body));
  assert.equal(gtRes.body.forge, 'gitea');
  assert.equal((await executions(gt.pipelinePath))[0].to_revision.revision, gtAfter);

  // A rotated secret: the old one stops working.
  const rotated = (await h.request('POST', `${W}/projects/gt/external-repository/push-secret`)).body
    .push_secret;
  assert.notEqual(rotated, gtSecret);
  const old = await call(gt.projectId, gtBody, {
    'x-gitea-event': 'push',
    'x-gitea-signature': hmac(gtSecret, gtBody),
  });
  assert.equal(old.status, 403);
});

test('bad calls: no forge header is 400, an unknown or hosted project 403, a project without a secret 403', async () => {
  const p = await externalProject('nosecret');
  const body = '{}';
  assert.equal((await call(p.projectId, body, {})).status, 400);
  const signed = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': '' };
  assert.equal((await call(p.projectId, body, signed)).status, 403, 'no secret set: nothing verifies');
  assert.equal((await call(999999, body, signed)).status, 403);
  const hosted = await h.request('POST', `${W}/projects`, { display_name: 'Hosted', name: 'hosted' });
  assert.equal(hosted.status, 201);
  const hostedId = (
    await h.gantry.db
      .selectFrom('projects')
      .select('id')
      .where('name', '=', 'hosted')
      .executeTakeFirstOrThrow()
  ).id;
  assert.equal((await call(hostedId, body, signed)).status, 403);
  const settings = await h.request('GET', `${W}/projects/hosted/external-repository`);
  assert.equal(settings.status, 400);
  assert.match(settings.body.errors[0].message, /hosted by Gantry/);
  const bad = await h.request('PATCH', `${W}/projects/nosecret/external-repository`, { poll_interval: -1 });
  assert.equal(bad.status, 400);
});

test('a new custom_repo_url takes a new baseline: the other repository history starts nothing', async () => {
  const p = await externalProject('moved');
  const secret = (await h.request('POST', `${W}/projects/moved/external-repository/push-secret`)).body
    .push_secret;
  const other = makeRepo([
    { message: 'one', files: { 'x.txt': '1\n' } },
    { message: 'two', files: { 'x.txt': '2\n' }, branch: 'feature' },
  ]);
  repos.push(other.dir);
  const moved = await h.request('PATCH', `${W}/projects/moved`, { custom_repo_url: `file://${other.dir}` });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  const headers = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret };
  const first = await call(p.projectId, '{}', headers);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(first.body.refs, []);
  assert.equal((await executions(p.pipelinePath)).length, 0);
  git(other.dir, 'checkout', '-q', 'master');
  const sha = commit(other.dir, 'three');
  const next = await call(p.projectId, '{}', headers);
  assert.equal(next.body.executions.length, 1);
  assert.equal((await executions(p.pipelinePath))[0].to_revision.revision, sha);
});
