import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlockFile } from './block-file.ts';

test('writes reach the file in order, copied at once, with back-pressure past the high-water mark', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-blockfile-'));
  try {
    const file = path.join(dir, 'out.log');
    writeFileSync(file, 'previous attempt\n');
    const out = new BlockFile(file, 'w', 512 * 1024);
    const expected: Buffer[] = [];
    const reused = Buffer.alloc(300 * 1024);
    let waited = 0;
    for (let i = 0; i < 60; i += 1) {
      // Strings and buffers, small and larger than a block, one buffer reused for all of them.
      const text = `${i}:${String.fromCharCode(97 + (i % 26)).repeat((i * 7919) % (300 * 1024))}€\n`;
      expected.push(Buffer.from(text));
      let ok: boolean;
      if (i % 3 === 0) ok = out.write(text);
      else {
        const n = reused.write(text);
        ok = out.write(reused.subarray(0, n));
        reused.fill(0x5a);
      }
      assert.ok(out.pendingBytes < 512 * 1024 + 300 * 1024 + 16, 'bounded by the mark and one write');
      if (!ok) {
        waited += 1;
        await out.drained();
        assert.ok(out.pendingBytes < 512 * 1024);
      }
    }
    await out.end();
    assert.ok(waited > 0, 'the caller was asked to wait');
    assert.ok(readFileSync(file).equals(Buffer.concat(expected)));

    // Appending continues the file.
    const more = new BlockFile(file, 'a', 1024);
    more.write('tail\n');
    await more.end();
    assert.ok(readFileSync(file).toString().endsWith('€\ntail\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a small write reaches the file within a turn of the event loop, before end()', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-blockfile-'));
  try {
    const file = path.join(dir, 'quiet.log');
    const out = new BlockFile(file, 'w', 1024 * 1024);
    out.write(Buffer.from('one line\n'));
    for (let i = 0; i < 100 && readFileSync(file, 'utf8') === ''; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(readFileSync(file, 'utf8'), 'one line\n');
    await out.end();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing write is reported by end() and releases a waiting writer', async () => {
  // /dev/full takes no byte: every write fails with ENOSPC.
  const out = new BlockFile('/dev/full', 'w', 1024);
  const ok = out.write(Buffer.alloc(4096, 1));
  assert.equal(ok, false);
  await out.drained();
  await assert.rejects(out.end(), /ENOSPC/);
});
