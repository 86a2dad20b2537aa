import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startGantry, type Harness } from '../support/harness.ts';

/**
 * Issue 8 item 6: slow-header sockets cannot be held open (headersTimeoutSeconds) and connections beyond
 * maxConnections are closed as they arrive. No timing is asserted: each test waits for the server to
 * act, however long the machine takes.
 */

let h: Harness;
let port = 0;

before(async () => {
  h = await startGantry({ listen: true, config: { headersTimeoutSeconds: 1, maxConnections: 4 } });
  port = Number(new URL(h.baseUrl).port);
});
after(() => h.close());

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the server sent once it closes the connection. */
function closed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(received));
  });
}

test('a client that never finishes its headers is cut off (408) instead of holding the socket', async () => {
  const slow = await open();
  const ended = closed(slow);
  slow.write('GET /api/workspaces HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n'); // and never the blank line
  const received = await ended;
  assert.ok(received === '' || received.startsWith('HTTP/1.1 408'), received);
});

test('connections beyond maxConnections are closed at once; the server answers again afterwards', async () => {
  const held = await Promise.all([open(), open(), open(), open()]);
  // Keep them busy enough to count: a request in progress on each.
  for (const s of held) s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const extra = await open().catch(() => null);
  if (extra !== null) {
    const received = await closed(extra);
    assert.equal(received, '', 'the extra connection got no answer');
  }
  for (const s of held) s.destroy();
  // Once they are gone, a new connection is served.
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
});
