import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StreamTickets } from '../../src/api/stream-tickets.ts';
import { buildWeb } from '../../scripts/build-web.ts';
import { makeRepo, startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';

let h: Harness;
before(async () => {
  await buildWeb();
  h = await startGantry({ listen: true });
});
after(async () => h.close());

test('the page, script and stylesheet are served with a Content-Security-Policy', async () => {
  const page = await h.request('GET', '/', undefined, { token: null });
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.match(String(page.body), /<script type="module" src="app.js"><\/script>/);
  assert.doesNotMatch(String(page.body), /<script>|<style>| style=/, 'no inline script or style');
  const js = await h.request('GET', '/app.js', undefined, { token: null });
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /javascript/);
  const css = await h.request('GET', '/app.css', undefined, { token: null });
  assert.equal(css.status, 200);
  assert.match(String(css.headers['content-type']), /text\/css/);
});

async function setup(): Promise<string> {
  await h.request('POST', '/api/workspaces', { name: 'T', domain: 'tix' });
  const repo = makeRepo([{ message: 'one', files: { 'a.txt': 'a' } }]);
  await h.request('POST', '/api/workspaces/tix/projects', {
    display_name: 'P',
    name: 'p',
    custom_repo_url: repo.dir,
  });
  const pl = await h.request('POST', '/api/workspaces/tix/projects/p/pipelines', {
    name: 'Pl',
    refs: ['refs/heads/master'],
  });
  assert.equal(pl.status, 201, JSON.stringify(pl.body));
  const plPath = `/api/workspaces/tix/projects/p/pipelines/${pl.body.id}`;
  const action = await h.request('POST', `${plPath}/actions`, {
    name: 'a',
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'true',
  });
  assert.equal(action.status, 201, JSON.stringify(action.body));
  return plPath;
}

/** Opens an SSE stream over real HTTP and collects events until `until` says stop. */
async function readStream(
  url: string,
  until: (events: { event: string; data: string; id: string }[]) => boolean,
): Promise<{ status: number; events: { event: string; data: string; id: string }[] }> {
  const ctrl = new AbortController();
  const res = await fetch(url, { signal: ctrl.signal });
  const events: { event: string; data: string; id: string }[] = [];
  if (res.status !== 200 || !res.body) return { status: res.status, events };
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = { event: 'message', data: '', id: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
        else if (line.startsWith('id: ')) ev.id = line.slice(4);
      }
      events.push(ev);
    }
    if (until(events)) break;
  }
  ctrl.abort();
  return { status: res.status, events };
}

test('an event stream opens with a single-use stream ticket bound to its path, never reused', async () => {
  const plPath = await setup();
  const path = '/api/workspaces/tix/events';
  const issued = await h.request('POST', '/api/user/stream_tickets', { path });
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  assert.equal(issued.body.path, path);
  assert.ok(issued.body.expires_in > 0 && issued.body.expires_in <= 60);
  const ticket: string = issued.body.ticket;
  assert.ok(!ticket.includes(h.token));

  // The stream delivers the workspace's execution status changes.
  const delayed = new Date(Date.now() + 3600_000).toISOString();
  const streamed = readStream(`${h.baseUrl}${path}?ticket=${encodeURIComponent(ticket)}`, (evs) =>
    evs.some((e) => e.event === 'execution'),
  );
  // Let the stream register before the change it should see.
  await new Promise((r) => setTimeout(r, 300));
  const run = await h.request('POST', `${plPath}/executions`, { delay_until: delayed });
  assert.equal(run.status, 200, JSON.stringify(run.body));
  const { status, events } = await streamed;
  assert.equal(status, 200);
  const ev = events.find((e) => e.event === 'execution')!;
  const data = JSON.parse(ev.data);
  assert.equal(data.execution_id, run.body.id);
  assert.equal(data.project_name, 'p');
  assert.equal(data.status, 'ENQUEUED');

  // Used once: the same ticket is refused, as is a ticket for another path, garbage, or no credential.
  const again = await fetch(`${h.baseUrl}${path}?ticket=${encodeURIComponent(ticket)}`);
  assert.equal(again.status, 401);
  assert.match(((await again.json()) as any).errors[0].message, /stream ticket/);
  const other = await h.request('POST', '/api/user/stream_tickets', { path: '/api/workspaces/other/events' });
  const wrong = await fetch(`${h.baseUrl}${path}?ticket=${encodeURIComponent(other.body.ticket)}`);
  assert.equal(wrong.status, 401);
  assert.equal((await fetch(`${h.baseUrl}${path}?ticket=nope`)).status, 401);
  assert.equal((await fetch(`${h.baseUrl}${path}`)).status, 401);

  // A ticket does not work on an ordinary API route.
  const t2 = await h.request('POST', '/api/user/stream_tickets', { path: '/api/workspaces' });
  assert.equal((await fetch(`${h.baseUrl}/api/workspaces?ticket=${t2.body.ticket}`)).status, 401);

  // A ticket dies with its token.
  const tok = await h.request('POST', '/api/user/tokens', {
    name: 'short',
    scopes: ['EXECUTION_INFO', 'WORKSPACE'],
  });
  assert.equal(tok.status, 201, JSON.stringify(tok.body));
  const t3 = await h.request('POST', '/api/user/stream_tickets', { path }, { token: tok.body.token });
  assert.equal(t3.status, 200);
  assert.equal((await h.request('DELETE', `/api/user/tokens/${tok.body.id}`)).status < 300, true);
  assert.equal((await fetch(`${h.baseUrl}${path}?ticket=${t3.body.ticket}`)).status, 401);
});

test('a workspace-restricted token cannot follow another workspace through a ticket', async () => {
  await h.request('POST', '/api/workspaces', { name: 'Other', domain: 'other-ws' });
  const tok = await h.request('POST', '/api/user/tokens', {
    name: 'restricted',
    scopes: ['EXECUTION_INFO', 'WORKSPACE'],
    workspace_restrictions: ['tix'],
  });
  assert.equal(tok.status, 201, JSON.stringify(tok.body));
  const path = '/api/workspaces/other-ws/events';
  const t = await h.request('POST', '/api/user/stream_tickets', { path }, { token: tok.body.token });
  assert.equal(t.status, 200);
  assert.equal((await fetch(`${h.baseUrl}${path}?ticket=${t.body.ticket}`)).status, 403);
});

test('stream tickets expire, hold one path, are single-use, bounded per token, and stored hashed', async () => {
  // A clock a year ahead: tickets the other tests left behind are expired to it and swept.
  let now = Date.now() + 365 * 86_400_000;
  const db = h.gantry.db;
  const tokenId = (await db.selectFrom('tokens').select('id').executeTakeFirstOrThrow()).id;
  const tickets = new StreamTickets(db, () => now);
  const a = await tickets.issue(tokenId, '/api/x/events');
  const rows = await db.selectFrom('stream_tickets').selectAll().execute();
  assert.ok(rows.length > 0);
  assert.ok(!rows.some((r) => r.ticket_hash === a.ticket || r.path.includes(a.ticket)), 'kept in clear');
  assert.equal(await tickets.redeem(a.ticket, '/api/y/events'), null, 'wrong path');
  assert.equal(await tickets.redeem(a.ticket, '/api/x/events'), null, 'a failed redemption consumes it too');
  const b = await tickets.issue(tokenId, '/api/x/events');
  now += 61_000;
  assert.equal(await tickets.redeem(b.ticket, '/api/x/events'), null, 'expired');
  const c = await tickets.issue(tokenId, '/api/x/events');
  assert.equal(await tickets.redeem(c.ticket, '/api/x/events'), tokenId);
  assert.equal(await tickets.redeem(c.ticket, '/api/x/events'), null, 'single use');
  // At most 50 unredeemed per token: the oldest go first; expired ones are swept.
  const issued: string[] = [];
  for (let i = 0; i < 60; i++) {
    now += 1;
    issued.push((await tickets.issue(tokenId, '/api/x/events')).ticket);
  }
  const held = await db
    .selectFrom('stream_tickets')
    .select('ticket_hash')
    .where('token_id', '=', tokenId)
    .execute();
  assert.equal(held.length, 50);
  assert.equal(await tickets.redeem(issued[0]!, '/api/x/events'), null, 'the oldest was dropped');
  assert.equal(await tickets.redeem(issued[59]!, '/api/x/events'), tokenId);
  now += 120_000;
  await tickets.issue(tokenId, '/api/x/events');
  const left = await db
    .selectFrom('stream_tickets')
    .select('ticket_hash')
    .where('token_id', '=', tokenId)
    .execute();
  assert.equal(left.length, 1, 'expired tickets are swept');
});

test('a ticket issued by one server process opens the stream on another sharing the database, once', async () => {
  await h.request('POST', '/api/workspaces', { name: 'Two', domain: 'two-servers' });
  const second = await startGantry({ listen: true, dataDir: h.dataDir });
  try {
    const path = '/api/workspaces/two-servers/events';
    const issued = await h.request('POST', '/api/user/stream_tickets', { path });
    assert.equal(issued.status, 200);
    const url = `${second.baseUrl}${path}?ticket=${encodeURIComponent(issued.body.ticket)}`;
    const ctrl = new AbortController();
    const res = await fetch(url, { signal: ctrl.signal });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /text\/event-stream/);
    ctrl.abort();
    // Redeemed on the second server: the first refuses it now.
    assert.equal(
      (await fetch(`${h.baseUrl}${path}?ticket=${encodeURIComponent(issued.body.ticket)}`)).status,
      401,
    );
  } finally {
    await second.close();
  }
});

test('bad ticket requests get 400', async () => {
  const res = await h.request('POST', '/api/user/stream_tickets', { path: 'relative?x=1' });
  assert.equal(res.status, 400);
  assert.equal((await h.request('POST', '/api/user/stream_tickets', {})).status, 400);
});
