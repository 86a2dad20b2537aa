import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutputStream } from '../container-runtime.ts';
import { FrameDemultiplexer } from './docker-streams.ts';

function frame(stream: OutputStream, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === 'stderr' ? 2 : 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Feeds `wire` through one reused buffer in reads of the given sizes; collects copies of what the sink got. */
function feed(wire: Buffer, readSizes: (i: number) => number) {
  const got: { stream: OutputStream; bytes: Buffer }[] = [];
  const demux = new FrameDemultiplexer((chunk, stream) => {
    got.push({ stream, bytes: Buffer.from(chunk) });
  });
  const buffer = Buffer.alloc(64 * 1024);
  let reads = 0;
  for (let at = 0; at < wire.length; reads += 1) {
    const n = Math.min(readSizes(reads), wire.length - at, buffer.length);
    buffer.fill(0xee); // whatever a previous read left must not leak into the output
    wire.copy(buffer, 0, at, at + n);
    assert.equal(demux.push(buffer, 0, n), undefined);
    at += n;
  }
  void demux.end();
  return { got, reads };
}

const joined = (got: { stream: OutputStream; bytes: Buffer }[], stream: OutputStream): string =>
  Buffer.concat(got.filter((g) => g.stream === stream).map((g) => g.bytes)).toString();

test('frames are demultiplexed in the read buffer: one block per stream and read, bytes in order', () => {
  const out: string[] = [];
  const err: string[] = [];
  const frames: Buffer[] = [];
  for (let i = 0; i < 400; i += 1) {
    const stream: OutputStream = i % 7 === 3 ? 'stderr' : 'stdout';
    const text = `${stream} ${i} ${'x'.repeat((i * 37) % 900)}\n`;
    (stream === 'stdout' ? out : err).push(text);
    frames.push(frame(stream, Buffer.from(text)));
  }
  const wire = Buffer.concat(frames);
  // Reads that cut headers and payloads anywhere, as a socket does.
  for (const sizes of [() => 65536, (i: number) => [1, 3, 8, 9, 4093, 17, 30000][i % 7]!]) {
    const { got, reads } = feed(wire, sizes);
    assert.equal(joined(got, 'stdout'), out.join(''));
    assert.equal(joined(got, 'stderr'), err.join(''));
    // Consecutive stdout frames of one read arrive together: at most one block per stream switch and read.
    const switches = frames.filter((_, i) => i > 0 && i % 7 === 3).length * 2;
    assert.ok(got.length <= reads + switches, `${got.length} blocks for ${reads} reads`);
  }
  // Large reads: far fewer blocks than frames.
  const { got } = feed(wire, () => 65536);
  assert.ok(got.length < frames.length / 2, `${got.length} blocks for ${frames.length} frames`);
});

test('a TTY stream (no frame headers) is passed through as stdout, even when shorter than a header', () => {
  const tty = Buffer.from('plain output without frames\nand more\n');
  const { got } = feed(tty, () => 5);
  assert.equal(joined(got, 'stdout'), tty.toString());
  assert.deepEqual(
    feed(Buffer.from('hi\n'), () => 64).got.map((g) => g.bytes.toString()),
    ['hi\n'],
  );
});

test("the sink's promise is passed back so that reading waits for it", async () => {
  let release!: () => void;
  const demux = new FrameDemultiplexer(() => new Promise<void>((resolve) => (release = resolve)));
  const wire = frame('stdout', Buffer.from('a\n'));
  const pending = demux.push(Buffer.from(wire));
  assert.ok(pending instanceof Promise);
  let settled = false;
  void pending.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  release();
  await pending;
  assert.equal(settled, true);
});
