import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, gitClient, withCredentials } from '../support/git-client.ts';
import { addAction, git, makeRepo, startGantry, waitForExecution, type Harness } from '../support/harness.ts';
import { hourAndDay } from '../../src/domain/trigger-conditions.ts';

let h: Harness;
let repoUrl: string;
let adminEmail: string;
const W = '/api/workspaces/ws';
const PROJECT = `${W}/projects/site`;
const local = makeRepo([{ message: 'first', files: { 'src/a.ts': '1\n', 'docs/readme.md': 'hi\n' } }]);

async function pipeline(body: Record<string, unknown>): Promise<{ path: string; id: number }> {
  const res = await h.request('POST', `${PROJECT}/pipelines`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const p = `${PROJECT}/pipelines/${res.body.id}`;
  await addAction(h, p, { name: 'ok' });
  return { path: p, id: res.body.id };
}

async function executions(p: string): Promise<any[]> {
  return (await h.request('GET', `${p}/executions?per_page=100`)).body.executions;
}

/** Commits `files` on `branch` of the local clone and pushes it; returns the new SHA. */
async function commitAndPush(branch: string, files: Record<string, string>): Promise<string> {
  git(local.dir, 'checkout', '-q', '-B', branch);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(local.dir, file)), { recursive: true });
    writeFileSync(path.join(local.dir, file), content);
  }
  git(local.dir, 'add', '-A');
  git(local.dir, 'commit', '-q', '--allow-empty', '-m', `change ${Object.keys(files).join(' ')}`);
  const res = await gitClient(
    local.dir,
    'push',
    '-f',
    withCredentials(repoUrl, h.token),
    `${branch}:${branch}`,
  );
  assert.ok(res.ok, res.stderr);
  return git(local.dir, 'rev-parse', 'HEAD');
}

/** Waits for the pipeline's last skipped trigger to be about `revisionOrRef` (a newer one than `previous`). */
async function skippedAfter(p: string, previous: string | undefined): Promise<any> {
  return eventually(async () => {
    const s = (await h.request('GET', p)).body.last_skipped_trigger;
    return s && s.date !== previous ? s : undefined;
  });
}

before(async () => {
  h = await startGantry({ listen: true });
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
  const project = await h.request('POST', `${W}/projects`, { display_name: 'Site', name: 'site' });
  repoUrl = project.body.http_repository;
  adminEmail = (await h.request('GET', '/api/user')).body.email;
  // master exists before the pipelines below, so their first pushes have a changeset.
  await commitAndPush('master', {});
});

after(async () => {
  await h.close();
  rmSync(local.dir, { recursive: true, force: true });
});

test('ON_CHANGE_AT_PATH: a push that changes nothing under the path starts no run, and says why', async () => {
  const p = await pipeline({
    name: 'src only',
    events: [{ type: 'PUSH', refs: ['refs/heads/master'] }],
    trigger_conditions: [{ trigger_condition: 'ON_CHANGE_AT_PATH', trigger_condition_paths: ['src/'] }],
  });
  const docsSha = await commitAndPush('master', { 'docs/readme.md': 'changed\n' });
  const skipped = await skippedAfter(p.path, undefined);
  assert.equal(skipped.trigger, 'PUSH');
  assert.equal(skipped.ref, 'refs/heads/master');
  assert.match(skipped.reason, /^trigger condition not met: ON_CHANGE_AT_PATH: nothing changed at src\//);
  // (The push in before() may still reach this new pipeline: only runs of these pushes count.)
  const at = (sha: string) => async () =>
    (await executions(p.path)).find((e) => e.to_revision.revision === sha);
  assert.equal(await at(docsSha)(), undefined, `no run for ${docsSha}`);

  const srcSha = await commitAndPush('master', { 'src/a.ts': '2\n' });
  const run = await eventually(at(srcSha));
  assert.equal(run.to_revision.revision, srcSha);
  assert.equal(run.triggered_on, 'EVENT');
  assert.equal((await waitForExecution(h, `${p.path}/executions/${run.id}`)).status, 'SUCCESSFUL');
});

test('VAR_IS and TRIGGERING_USER_IS_IN_GROUP: each stops pushes until it holds', async () => {
  const p = await pipeline({
    name: 'qa',
    events: [{ type: 'PUSH', refs: ['qa'] }],
    trigger_conditions: [
      { trigger_condition: 'VAR_IS', trigger_variable_key: 'DEPLOY', trigger_variable_value: 'yes' },
      { trigger_condition: 'TRIGGERING_USER_IS_IN_GROUP', trigger_group: 'devs' },
    ],
  });
  await commitAndPush('qa', { 'src/q.ts': '1\n' });
  let skipped = await skippedAfter(p.path, undefined);
  assert.match(skipped.reason, /VAR_IS: DEPLOY is not set, not "yes"/);

  const variable = await h.request('POST', `${W}/variables`, { key: 'DEPLOY', value: 'yes', type: 'VAR' });
  assert.equal(variable.status, 201, JSON.stringify(variable.body));
  await commitAndPush('qa', { 'src/q.ts': '2\n' });
  skipped = await skippedAfter(p.path, skipped.date);
  assert.match(
    skipped.reason,
    new RegExp(`TRIGGERING_USER_IS_IN_GROUP: ${adminEmail} is not in group "devs"`),
  );
  assert.equal((await executions(p.path)).length, 0);

  const group = await h.request('POST', `${W}/groups`, { name: 'devs' });
  assert.equal(group.status, 201, JSON.stringify(group.body));
  const me = (await h.request('GET', '/api/user')).body.id;
  assert.equal((await h.request('POST', `${W}/groups/${group.body.id}/members`, { id: me })).status, 201);
  const sha = await commitAndPush('qa', { 'src/q.ts': '3\n' });
  const run = await eventually(async () => (await executions(p.path))[0]);
  assert.equal(run.to_revision.revision, sha);
  assert.equal(run.creator.email, adminEmail);
});

test('manual runs are checked too: TRIGGERING_USER_IS_NOT and SUCCESS_PIPELINE answer 400 and create nothing', async () => {
  const notMe = await pipeline({
    name: 'not me',
    trigger_conditions: [
      { trigger_condition: 'TRIGGERING_USER_IS_NOT', trigger_user: adminEmail.toUpperCase() },
    ],
  });
  const refused = await h.request('POST', `${notMe.path}/executions`, { to_revision: { revision: 'HEAD' } });
  assert.equal(refused.status, 400);
  assert.match(refused.body.errors[0].message, /TRIGGERING_USER_IS_NOT/);
  assert.equal((await executions(notMe.path)).length, 0);

  const failing = await pipeline({ name: 'fails' });
  await h.request(
    'PATCH',
    `${failing.path}/actions/${(await h.request('GET', `${failing.path}/actions`)).body.actions[0].id}`,
    {
      inline_commands: 'exit 3',
    },
  );
  const failed = await h.request('POST', `${failing.path}/executions`, { to_revision: { revision: 'HEAD' } });
  assert.equal((await waitForExecution(h, `${failing.path}/executions/${failed.body.id}`)).status, 'FAILED');

  const after = (name: string) => ({
    name: `after ${name}`,
    trigger_conditions: [
      { trigger_condition: 'SUCCESS_PIPELINE', trigger_project_name: 'site', trigger_pipeline_name: name },
    ],
  });
  const afterFailing = await pipeline(after('fails'));
  const no = await h.request('POST', `${afterFailing.path}/executions`, {
    to_revision: { revision: 'HEAD' },
  });
  assert.equal(no.status, 400);
  assert.match(no.body.errors[0].message, /last run of "site\/fails" is FAILED/);
  const afterSrc = await pipeline(after('src only'));
  const yes = await h.request('POST', `${afterSrc.path}/executions`, { to_revision: { revision: 'HEAD' } });
  assert.equal(yes.status, 200, JSON.stringify(yes.body));
});

test('DATETIME on a trigger webhook: outside the days it answers 200 without a run; inside, it runs', async () => {
  const { day } = hourAndDay(Date.now(), 'Asia/Tokyo');
  // Neither today nor tomorrow in Tokyo, so a midnight passing during the test changes nothing.
  const otherDays = [1, 2, 3, 4, 5, 6, 7].filter((d) => d !== day && d !== (day % 7) + 1);
  const created = await h.request('POST', `${PROJECT}/pipelines`, {
    name: 'hook',
    events: [{ type: 'WEBHOOK', totp: false }],
    trigger_conditions: [{ trigger_condition: 'DATETIME', trigger_days: otherDays, timezone: 'Asia/Tokyo' }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const p = `${PROJECT}/pipelines/${created.body.id}`;
  await addAction(h, p, { name: 'ok' });
  const url = `/api/trigger/pipelines/${created.body.id}?token=${created.body.trigger_webhook.secret}`;
  const outside = await h.request('POST', url, {}, { token: null });
  assert.equal(outside.status, 200, JSON.stringify(outside.body));
  assert.equal(outside.body.triggered, false);
  assert.match(outside.body.reason, /DATETIME: the day is \d \(1 = Monday\) in Asia\/Tokyo/);
  const skipped = (await h.request('GET', p)).body.last_skipped_trigger;
  assert.equal(skipped.trigger, 'WEBHOOK');
  assert.equal((await executions(p)).length, 0);

  const patched = await h.request('PATCH', p, {
    trigger_conditions: [
      { trigger_condition: 'DATETIME', trigger_days: [1, 2, 3, 4, 5, 6, 7], timezone: 'Asia/Tokyo' },
    ],
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const inside = await h.request('POST', url, {}, { token: null });
  assert.equal(inside.status, 200, JSON.stringify(inside.body));
  assert.equal(inside.body.triggered_on, 'WEBHOOK');
  assert.equal((await executions(p)).length, 1);
});

test('ON_CHANGE on a schedule: the first slot runs, a slot with nothing new since the last success does not', async () => {
  const p = await pipeline({
    name: 'nightly if changed',
    events: [{ type: 'SCHEDULE', cron: '0 3 * * *' }],
    trigger_conditions: [{ trigger_condition: 'ON_CHANGE' }],
  });
  const due = () =>
    h.gantry.db
      .updateTable('pipeline_schedules')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .where('pipeline_id', '=', p.id)
      .execute();
  await due();
  assert.equal(await h.gantry.triggers.schedules.tick(), 1);
  const first = await eventually(async () => (await executions(p.path))[0]);
  assert.equal(first.triggered_on, 'SCHEDULE');
  assert.equal((await waitForExecution(h, `${p.path}/executions/${first.id}`)).status, 'SUCCESSFUL');

  await due();
  assert.equal(await h.gantry.triggers.schedules.tick(), 0);
  const skipped = (await h.request('GET', p.path)).body.last_skipped_trigger;
  assert.equal(skipped.trigger, 'SCHEDULE');
  assert.match(skipped.reason, /ON_CHANGE: nothing changed since the changeset base/);
  assert.equal((await executions(p.path)).length, 1);
});
