/**
 * Outgoing PUSH workspace webhooks end to end: a real git push over HTTP to a hosted repository, a
 * receiver on 127.0.0.1 that checks the signature, the project filter, and the delivery listed in the
 * webhook's requests; and a change of an external repository seen by a forge's push call.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, gitClient, withCredentials } from '../support/git-client.ts';
import { git, makeRepo, startGantry, type Harness } from '../support/harness.ts';
import { removeDirs } from '../support/runs.ts';

let h: Harness;
let receiver: Server;
let base: string;
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
const local = makeRepo([
  { message: 'first', files: { 'a.txt': '1\n' } },
  { message: 'second', files: { 'a.txt': '2\n' } },
]);
const external = makeRepo([{ message: 'external', files: { 'b.txt': '1\n' } }]);
const W = '/api/workspaces/ws';

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  h = await startGantry({ listen: true, webhookDispatch: { retryBaseMs: 200 } });
  assert.equal((await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' })).status, 201);
});
after(async () => {
  await h.close();
  await new Promise((resolve) => receiver.close(resolve));
  removeDirs(local.dir, external.dir);
});

async function webhook(path: string, projects: string[]): Promise<number> {
  const res = await h.request('POST', `${W}/webhooks`, {
    events: ['PUSH'],
    projects,
    target_url: `${base}${path}`,
    secret_key: `secret-of-${path}`,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id;
}

function signatureOk(r: (typeof received)[number], key: string): boolean {
  const expected = `sha256=${createHmac('sha256', key).update(r.body).digest('hex')}`;
  return r.headers['x-gantry-signature-256'] === expected;
}

test('a git push over HTTP sends one signed PUSH delivery with the pusher and every ref, to matching webhooks only', async () => {
  const site = await h.request('POST', `${W}/projects`, { display_name: 'Site', name: 'site' });
  assert.equal(site.status, 201);
  assert.equal(
    (await h.request('POST', `${W}/projects`, { display_name: 'Other', name: 'other' })).status,
    201,
  );
  const siteHook = await webhook('/site', ['site']);
  await webhook('/other', ['other']);
  const me = (await h.request('GET', '/api/user')).body;

  git(local.dir, 'tag', 'v1', local.shas[0]!);
  const res = await gitClient(
    local.dir,
    'push',
    withCredentials(site.body.http_repository, h.token),
    `${local.shas[1]}:refs/heads/master`,
    'v1',
  );
  assert.ok(res.ok, res.stderr);

  const delivery = await eventually(async () => received.find((r) => r.path === '/site'));
  assert.equal(delivery.headers['x-gantry-event'], 'PUSH');
  assert.ok(signatureOk(delivery, 'secret-of-/site'), 'signed with the webhook secret_key');
  const payload = JSON.parse(delivery.body);
  assert.equal(payload.type, 'PUSH');
  assert.equal(payload.workspace.domain, 'ws');
  assert.equal(payload.project.name, 'site');
  assert.deepEqual(payload.pusher, { id: me.id, email: me.email });
  assert.deepEqual(
    [...payload.refs].sort((a: any, b: any) => a.ref.localeCompare(b.ref)),
    [
      { ref: 'refs/heads/master', before: null, after: local.shas[1] },
      { ref: 'refs/tags/v1', before: null, after: local.shas[0] },
    ],
  );

  // A second push: the moved ref with its old revision.
  const again = await gitClient(
    local.dir,
    'push',
    '-f',
    withCredentials(site.body.http_repository, h.token),
    `${local.shas[0]}:refs/heads/master`,
  );
  assert.ok(again.ok, again.stderr);
  const second = await eventually(async () => received.filter((r) => r.path === '/site')[1]);
  assert.deepEqual(JSON.parse(second.body).refs, [
    { ref: 'refs/heads/master', before: local.shas[1], after: local.shas[0] },
  ]);

  const hook = await eventually(async () => {
    const body = (await h.request('GET', `${W}/webhooks/${siteHook}`)).body;
    return body.requests.length === 2 && body.requests.every((r: any) => r.status === 'DELIVERED') && body;
  });
  assert.ok(hook.requests.every((r: any) => r.event === 'PUSH' && String(r.response_status) === '200'));
  assert.equal(
    received.filter((r) => r.path === '/other').length,
    0,
    'a webhook filtered to another project gets nothing',
  );
});

test('a change of an external repository, reported by its forge, sends a PUSH delivery too', async () => {
  const project = await h.request('POST', `${W}/projects`, {
    display_name: 'Ext',
    name: 'ext',
    custom_repo_url: `file://${external.dir}`,
  });
  assert.equal(project.status, 201, JSON.stringify(project.body));
  await webhook('/ext', ['ext']);
  const secret = (await h.request('POST', `${W}/projects/ext/external-repository/push-secret`)).body
    .push_secret;
  const before = git(external.dir, 'rev-parse', 'HEAD');
  git(external.dir, 'commit', '-q', '--allow-empty', '-m', 'next');
  const after = git(external.dir, 'rev-parse', 'HEAD');
  const body = JSON.stringify({
    ref: 'refs/heads/master',
    before,
    after,
    pusher: { email: 'someone@else.org' },
  });
  const { id } = await h.gantry.db
    .selectFrom('projects')
    .select('id')
    .where('name', '=', 'ext')
    .executeTakeFirstOrThrow();
  const call = await h.request('POST', `/api/trigger/projects/${id}/push`, undefined, {
    token: null,
    raw: body,
    headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret },
  });
  assert.equal(call.status, 200, JSON.stringify(call.body));
  const delivery = await eventually(async () => received.find((r) => r.path === '/ext'));
  const payload = JSON.parse(delivery.body);
  assert.deepEqual(payload.refs, [{ ref: 'refs/heads/master', before, after }]);
  // The forge's pusher is no Gantry member: the change is the project creator's.
  assert.equal(payload.pusher.email, (await h.request('GET', '/api/user')).body.email);
});
