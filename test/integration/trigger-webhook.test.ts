import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { totpCode } from '../../src/triggers/trigger-webhook.ts';
import {
  addAction,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';

let h: Harness;
let pipelinePath: string;
let triggerUrl: string;
let secret: string;
const repo = makeRepo([
  { message: 'first', files: { 'a.txt': '1\n' } },
  { message: 'on dev', files: { 'a.txt': '2\n' }, branch: 'dev' },
]);

async function executions(): Promise<any[]> {
  return (await h.request('GET', `${pipelinePath}/executions`)).body.executions;
}

/** Calls the trigger URL like an outside caller: no API token. */
function call(method: 'GET' | 'POST', query: string, body?: unknown, headers: Record<string, string> = {}) {
  const path = new URL(triggerUrl).pathname;
  return h.request(method, `${path}${query}`, body, { token: null, headers });
}

before(async () => {
  h = await startGantry();
  ({ pipelinePath } = await setupPipeline(h, repo.dir, {
    events: [{ type: 'WEBHOOK', refs: null, events: null, branches: null, totp: false }],
  }));
  await addAction(h, pipelinePath, { name: 'echo', inline_commands: 'echo "hello $WHO"' });
});
after(async () => {
  await h.close();
  rmSync(repo.dir, { recursive: true, force: true });
});

test('a WEBHOOK pipeline has a trigger URL; its secret is shown once', async () => {
  const rotated = await h.request('POST', `${pipelinePath}/trigger-webhook/secrets`);
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  triggerUrl = rotated.body.trigger_webhook.url;
  secret = rotated.body.trigger_webhook.secret;
  assert.match(triggerUrl, /\/api\/trigger\/pipelines\/\d+$/);
  assert.ok(secret.length >= 24);
  const got = await h.request('GET', pipelinePath);
  assert.deepEqual(got.body.trigger_webhook, { url: triggerUrl, totp: false });
  assert.ok(!JSON.stringify(got.body).includes(secret), 'the secret is not in a later GET');
});

test('a wrong or missing secret is a 403 and nothing runs', async () => {
  for (const query of ['', '?token=wrong', `?token=${secret}x`]) {
    const res = await call('POST', query, { branch: 'dev' });
    assert.equal(res.status, 403, query);
  }
  const sanity = await call('POST', `?token=${secret}`.replace(/^/, ''), undefined);
  assert.equal(sanity.status, 200, 'sanity: the right secret works');
  const wrongId = await h.request('POST', `/api/trigger/pipelines/999999?token=${secret}`, undefined, {
    token: null,
  });
  assert.equal(wrongId.status, 403);
  assert.equal((await executions()).length, 1);
});

test('POST with branch, comment and variables runs the pipeline; GET works too', async () => {
  const res = await call(
    'POST',
    '',
    { branch: 'dev', comment: 'from CI', variables: [{ key: 'WHO', value: 'webhook' }] },
    {
      'x-gantry-token': secret,
    },
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const e = await waitForExecution(h, `${pipelinePath}/executions/${res.body.id}`);
  assert.equal(e.status, 'SUCCESSFUL');
  assert.equal(e.triggered_on, 'WEBHOOK');
  assert.equal(e.branch.name, 'dev');
  assert.equal(e.to_revision.revision, repo.shas[1]);
  assert.equal(e.comment, 'from CI');
  const logs = await h.request(
    'GET',
    `${pipelinePath}/executions/${e.id}/action_executions/${e.action_executions[0].action_execution_id}/logs`,
  );
  assert.ok(logs.body.logs.includes('hello webhook'), JSON.stringify(logs.body.logs));
  const viaGet = await call('GET', `?token=${secret}&branch=master`);
  assert.equal(viaGet.status, 200);
  assert.equal(
    (await waitForExecution(h, `${pipelinePath}/executions/${viaGet.body.id}`)).branch.name,
    'master',
  );
  const missingBranch = await call('GET', `?token=${secret}&branch=nope`);
  assert.equal(missingBranch.status, 404);
});

test('with totp, a valid code is needed as well, and each code works once', async () => {
  const before = (await executions()).length;
  const patched = await h.request('PATCH', pipelinePath, { events: [{ type: 'WEBHOOK', totp: true }] });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const key = patched.body.trigger_webhook.totp_secret;
  assert.match(key, /^[A-Z2-7]+=*$/);
  assert.match(patched.body.trigger_webhook.totp_uri, /^otpauth:\/\/totp\//);
  assert.equal((await h.request('GET', pipelinePath)).body.trigger_webhook.totp_secret, undefined);

  assert.equal((await call('POST', `?token=${secret}`)).status, 403, 'no code');
  assert.equal((await call('POST', `?token=${secret}&totp=000000`)).status, 403, 'wrong code');
  const code = totpCode(key);
  assert.equal((await call('POST', `?token=wrong&totp=${code}`)).status, 403, 'right code, wrong secret');
  const ok = await call('POST', `?token=${secret}`, undefined, { 'x-gantry-totp': code });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((await call('POST', `?token=${secret}&totp=${code}`)).status, 403, 'a code is used once');
  assert.equal((await executions()).length, before + 1);
  await waitForExecution(h, `${pipelinePath}/executions/${ok.body.id}`);
});

test('removing the WEBHOOK event disables the URL', async () => {
  await h.request('PATCH', pipelinePath, { events: [] });
  assert.equal((await call('POST', `?token=${secret}`)).status, 403);
});
