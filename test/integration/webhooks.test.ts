import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../support/git-client.ts';
import {
  addAction,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';

let h: Harness;
let receiver: Server;
let target: string;
const received: { headers: IncomingHttpHeaders; body: string; answered: number }[] = [];
let failuresLeft = 2;
const repo = makeRepo([{ message: 'first', files: { 'a.txt': '1\n' } }]);

before(async () => {
  // A receiver on loopback that fails twice, then accepts.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = failuresLeft > 0 ? 500 : 200;
      if (failuresLeft > 0) failuresLeft -= 1;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      res
        .writeHead(answered, { 'content-type': 'text/plain' })
        .end(answered === 200 ? 'thanks' : 'try later');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  h = await startGantry({ webhookDispatch: { retryBaseMs: 200 } });
});
after(async () => {
  await h.close();
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(repo.dir, { recursive: true, force: true });
});

test('workspace webhooks: CRUD in Buddy shape, secret_key in clear, unknown fields refused', async () => {
  const { projectPath } = await setupPipeline(h, repo.dir, { name: 'first' });
  const projectName = projectPath.split('/').pop()!;
  const created = await h.request('POST', '/api/workspaces/ws/webhooks', {
    events: ['EXECUTION_STARTED'],
    projects: [projectName],
    target_url: 'https://abcdefghij.0zxc.com',
    secret_key: 'qwerty',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(typeof created.body.id, 'number');
  assert.equal(created.body.target_url, 'https://abcdefghij.0zxc.com', 'echoed as sent');
  assert.equal(created.body.secret_key, 'qwerty');
  assert.deepEqual(created.body.projects, [projectName]);
  assert.deepEqual(created.body.events, ['EXECUTION_STARTED']);
  assert.deepEqual(created.body.requests, []);
  const path = `/api/workspaces/ws/webhooks/${created.body.id}`;
  const patched = await h.request('PATCH', path, {
    events: ['EXECUTION_FINISHED'],
    target_url: 'https://x.0zxc.com',
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.events, ['EXECUTION_FINISHED']);
  assert.equal(patched.body.secret_key, 'qwerty', 'unchanged when not sent');
  assert.equal((await h.request('GET', '/api/workspaces/ws/webhooks')).body.webhooks.length, 1);
  for (const body of [
    { events: ['SOMETHING'], target_url: 'https://x.y' },
    { events: ['PUSH'], target_url: 'ftp://x.y' },
    { events: ['PUSH'], target_url: 'https://x.y', colour: 'red' },
    { events: ['PUSH'], target_url: 'https://x.y', projects: ['no-such-project'] },
  ]) {
    const res = await h.request('POST', '/api/workspaces/ws/webhooks', body);
    assert.equal(res.status, 400, JSON.stringify(body));
  }
  assert.equal((await h.request('DELETE', path)).status, 204);
  assert.equal((await h.request('GET', path)).status, 404);
});

test('execution webhooks are delivered from the outbox, signed, retried with backoff until the receiver accepts', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir, { name: 'delivered' });
  await addAction(h, pipelinePath, { name: 'ok' });
  const hook = await h.request('POST', '/api/workspaces/ws/webhooks', {
    events: ['EXECUTION_SUCCESSFUL'],
    target_url: target,
    secret_key: 's3cret',
  });
  assert.equal(hook.status, 201);
  const run = await h.request('POST', `${pipelinePath}/executions`, {});
  const done = await waitForExecution(h, `${pipelinePath}/executions/${run.body.id}`);
  assert.equal(done.status, 'SUCCESSFUL');
  await eventually(async () => received.some((r) => r.answered === 200));
  assert.deepEqual(
    received.map((r) => r.answered),
    [500, 500, 200],
    'failed twice, then accepted; nothing sent after that',
  );
  for (const r of received) {
    assert.equal(r.body, received[0]!.body, 'every attempt sends the same payload');
    const expected = `sha256=${createHmac('sha256', 's3cret').update(r.body).digest('hex')}`;
    assert.equal(r.headers['x-gantry-signature-256'], expected);
    assert.equal(r.headers['x-gantry-event'], 'EXECUTION_SUCCESSFUL');
  }
  const payload = JSON.parse(received[0]!.body);
  assert.equal(payload.type, 'EXECUTION_SUCCESSFUL');
  assert.equal(payload.execution.id, run.body.id);
  assert.equal(payload.execution.status, 'SUCCESSFUL');
  assert.equal(payload.pipeline.name, 'delivered');
  assert.ok(!received[0]!.body.includes('s3cret'), 'the secret itself is never sent');
  const shown = await eventually(async () => {
    const w = (await h.request('GET', `/api/workspaces/ws/webhooks/${hook.body.id}`)).body;
    return w.requests.length === 1 && w.requests[0].status === 'DELIVERED' && w;
  });
  assert.equal(shown.requests[0].response_status, '200');
  assert.equal(shown.requests[0].attempts, 3);
  // Each attempt is counted in /metrics by its outcome.
  const metrics = (await h.request('GET', '/metrics')).body as string;
  assert.match(metrics, /^gantry_webhook_deliveries_total\{outcome="failed"\} 2$/m);
  assert.match(metrics, /^gantry_webhook_deliveries_total\{outcome="delivered"\} 1$/m);
  // A second run: delivered at the first attempt, nothing else re-sent.
  const again = await h.request('POST', `${pipelinePath}/executions`, {});
  await waitForExecution(h, `${pipelinePath}/executions/${again.body.id}`);
  await eventually(async () => received.length === 4);
  assert.equal(received[3]!.answered, 200);
  assert.equal(JSON.parse(received[3]!.body).execution.id, again.body.id);
  assert.equal((await h.request('DELETE', `/api/workspaces/ws/webhooks/${hook.body.id}`)).status, 204);
});

test('a webhook filtered to another project is not delivered; pending deliveries survive a restart', async () => {
  const other = await setupPipeline(h, repo.dir, { name: 'other' });
  await addAction(h, other.pipelinePath, { name: 'ok' });
  const mine = await setupPipeline(h, repo.dir, { name: 'mine' });
  await addAction(h, mine.pipelinePath, { name: 'ok' });
  const projectName = mine.projectPath.split('/').pop()!;
  const hook = await h.request('POST', '/api/workspaces/ws/webhooks', {
    events: ['EXECUTION_STARTED', 'EXECUTION_FINISHED'],
    projects: [projectName],
    target_url: target,
  });
  assert.equal(hook.status, 201);
  const before = received.length;
  const otherRun = await h.request('POST', `${other.pipelinePath}/executions`, {});
  await waitForExecution(h, `${other.pipelinePath}/executions/${otherRun.body.id}`);
  const run = await h.request('POST', `${mine.pipelinePath}/executions`, {});
  await waitForExecution(h, `${mine.pipelinePath}/executions/${run.body.id}`);
  const events = await eventually(async () => {
    const mineOnly = received.slice(before);
    return mineOnly.length === 2 && mineOnly.map((r) => JSON.parse(r.body));
  });
  assert.deepEqual(events.map((e: any) => e.type).sort(), ['EXECUTION_FINISHED', 'EXECUTION_STARTED']);
  assert.ok(
    events.every((e: any) => e.execution.id === run.body.id),
    'nothing from the other project',
  );

  // Written to the outbox while no server runs: delivered after the next start, once.
  await h.gantry.close();
  const { openDatabase } = await import('../../src/store/database.ts');
  const { enqueueDeliveries } = await import('../../src/store/webhooks.ts');
  const db = await openDatabase('', h.dataDir);
  await enqueueDeliveries(db, [
    { webhook_id: hook.body.id, event: 'EXECUTION_FINISHED', payload: '{"type":"queued"}' },
  ]);
  await db.destroy();
  const count = received.length;
  await h.restart();
  await eventually(async () => received.length === count + 1);
  assert.equal(received[count]!.body, '{"type":"queued"}');
});
