import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LogStore } from './log-store.ts';

test('lines are assembled per stream, CRLF trimmed, masked, and readable by offset past the index', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    let notified = 0;
    store.events.on('ae1', () => (notified += 1));
    const w = store.writer('ae1');
    w.setTransform((l) => l.replace('secret', '***'));
    await w.write('out-par', 'stdout');
    await w.write('err line\r\n', 'stderr');
    await w.write('tial secret\n', 'stdout');
    for (let i = 0; i < 2500; i += 1) await w.write(`line ${i}\n`, 'stdout');
    await w.write('no newline at the end', 'stdout');
    await w.close();
    assert.equal(w.lines, 2503);
    assert.ok(notified > 0);
    assert.deepEqual(await store.readLines('ae1', 0, 2), ['err line', 'out-partial ***']);
    assert.deepEqual(await store.readLines('ae1', 2102, 2), ['line 2100', 'line 2101']);
    assert.deepEqual(await store.readLines('ae1', 2502, 10), ['no newline at the end']);
    assert.deepEqual(await store.readLines('missing', 0, 10), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
