import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { base64Cores, secretMasker } from '../secrets/mask.ts';
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

test('bytes: characters split across reads, CRLF, masking, long lines and the index agree with the text path', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    const w = store.writer('ae2');
    w.setTransform(secretMasker(['hunter2']));
    const euro = Buffer.from('€ price\n', 'utf8'); // € is 3 bytes: split it between two reads
    await w.write(euro.subarray(0, 1), 'stdout');
    await w.write(euro.subarray(1), 'stdout');
    await w.write(Buffer.from('pass=hun'), 'stderr'); // a secret split across reads, on another stream
    await w.write(Buffer.from('plain\r\nwindows\r\n'), 'stdout');
    await w.write(Buffer.from('ter2!\n'), 'stderr');
    const many: string[] = [];
    for (let i = 0; i < 3000; i += 1) many.push(`line ${i}\n`);
    const block = Buffer.from(many.join(''));
    // Uneven reads, as a socket delivers them.
    for (let at = 0; at < block.length; at += 4093) await w.write(block.subarray(at, at + 4093), 'stdout');
    await w.write(Buffer.from('é'.repeat(40_000)), 'stdout'); // 80 000 bytes without a newline
    await w.close();
    const lines = await store.readLines('ae2', 0, 5);
    assert.deepEqual(lines, ['€ price', 'plain', 'windows', 'pass=***!', 'line 0']);
    assert.deepEqual(await store.readLines('ae2', 2004, 2), ['line 2000', 'line 2001']);
    assert.deepEqual(await store.readLines('ae2', 3003, 1), ['line 2999']);
    const tail = await store.readLines('ae2', 3004, 10);
    assert.equal(tail.length, 2, 'the long line is stored in two pieces');
    assert.equal(tail.join(''), 'é'.repeat(40_000), 'no character was cut');
    assert.equal(w.lines, 3006);
    assert.ok(!readFileSync(path.join(dir, 'ae2.log'), 'latin1').includes('\r'), 'CRLF trimmed in the file');
    assert.equal(await store.countLines('ae2'), 3006);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a secret cut by the 64 KiB line split is masked, wherever the cut falls and however it arrives', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    const secret = 'S3cr3t-XYZ-123456';
    for (let shift = -20; shift <= 4; shift += 1) {
      const id = `split${shift + 20}`;
      const w = store.writer(id);
      w.setTransform(secretMasker([secret]));
      const line = Buffer.from(
        'x'.repeat(64 * 1024 - 12 + shift) + `token":"${secret}"}` + 'y'.repeat(70_000) + '\n',
      );
      // In reads of odd sizes, as a socket delivers them.
      for (let at = 0; at < line.length; at += 7919) await w.write(line.subarray(at, at + 7919), 'stdout');
      await w.close();
      const text = readFileSync(path.join(dir, `${id}.log`), 'utf8');
      assert.ok(
        !text.includes('3t-XYZ') && !/123456|S3cr/.test(text),
        `cut at ${shift}: ${text.slice(65_500, 65_600)}`,
      );
      assert.ok(text.replace(/\n/g, '').includes('token":"***"}'), `cut at ${shift}`);
      assert.ok(
        text.split('\n').every((l) => l.length <= 64 * 1024 + secret.length * 2),
        'lines are still split',
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a secret split between stdout and stderr is masked on both sides', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    const w = store.writer('streams');
    w.setTransform(secretMasker(['hunter2-and-more']));
    await w.write('pass=hunter', 'stdout');
    await w.write('2-and-more!\n', 'stderr');
    await w.write(' (end)\n', 'stdout');
    // In three pieces: stdout, stderr, stderr.
    await w.write('key=hun', 'stderr');
    await w.write('ter2-an', 'stdout');
    await w.write('d-more.\n', 'stdout');
    await w.write('\n', 'stderr');
    await w.close();
    const text = readFileSync(path.join(dir, 'streams.log'), 'utf8');
    assert.deepEqual(text.split('\n'), ['!', 'pass=*** (end)', '.', 'key=***', '']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a secret split over several stdout/stderr switches is masked, whatever the pieces', async () => {
  const secret = 'hunter2-and-more';
  // Every way of cutting the secret in 2 to 5 pieces that alternate streams, with text around it.
  const cases: string[][] = [
    ['hun', 'ter', '2-an', 'd-more'],
    ['h', 'u', 'n', 't', 'er2-and-more'],
    ['hunter2-', 'and-', 'more'],
    ['hunter2-and-mor', 'e'],
  ];
  for (let start = 0; start < 2; start += 1) {
    for (const pieces of cases) {
      const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
      try {
        const store = new LogStore(dir);
        const w = store.writer('switches');
        w.setTransform(secretMasker([secret]));
        const streams = start === 0 ? ['stdout', 'stderr'] : ['stderr', 'stdout'];
        await w.write('a=', streams[0]);
        for (const [i, piece] of pieces.entries()) await w.write(piece, streams[i % 2]);
        await w.write(' !\n', streams[(pieces.length - 1) % 2]);
        await w.write('\n', streams[pieces.length % 2]);
        await w.close();
        const text = readFileSync(path.join(dir, 'switches.log'), 'utf8');
        assert.ok(!text.includes(secret), `${pieces.join('|')}: ${JSON.stringify(text)}`);
        for (const piece of pieces.filter((p) => p.length >= 3))
          assert.ok(!text.includes(piece), `${pieces.join('|')}: piece ${piece} in ${JSON.stringify(text)}`);
        assert.match(text, /a=\*\*\*/, `${pieces.join('|')}: ${JSON.stringify(text)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
});

test('a secret in wrapped base64 is masked at every alignment and wherever the line break falls', async () => {
  const secret = 'S3cr3t-Wrapped-Token-0042';
  const cores = base64Cores(Buffer.from(secret));
  for (const width of [76, 64]) {
    for (let prefix = 0; prefix < 80; prefix += 1) {
      const encoded = Buffer.from('u'.repeat(prefix) + ':' + secret + '@host').toString('base64');
      const wrapped = encoded.replace(new RegExp(`(.{${width}})`, 'g'), '$1\n').replace(/\n?$/, '\n');
      // Written whole, line by line, and in chunks cut anywhere.
      for (const chunk of [wrapped.length, width + 1, 7]) {
        const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
        try {
          const w = new LogStore(dir).writer('wrapped');
          w.setTransform(secretMasker([secret]));
          for (let i = 0; i < wrapped.length; i += chunk)
            await w.write(wrapped.slice(i, i + chunk), 'stdout');
          await w.write('done\n', 'stdout');
          await w.close();
          const text = readFileSync(path.join(dir, 'wrapped.log'), 'utf8');
          const joined = text.replace(/\n/g, '');
          const shown = cores.filter((c) => joined.includes(c));
          assert.deepEqual(
            shown,
            [],
            `width ${width}, prefix ${prefix}, chunks of ${chunk}: ${JSON.stringify(text)}`,
          );
          assert.match(text, /\*\*\*/);
          assert.match(text, /done\n$/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  }
});

test('the index reaches the file in batches; until then an open log is read past its first lines through the writer', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    const file = path.join(dir, 'ae3.log');
    // A previous attempt's index is not this log's.
    writeFileSync(`${file}.idx`, Buffer.alloc(64, 0xff));
    const w = store.writer('ae3');
    assert.equal(existsSync(`${file}.idx`), false);
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('');
    for (let at = 0; at < text.length; at += 7000)
      await w.write(Buffer.from(text.slice(at, at + 7000)), 'stdout');
    // Wait for the data (not the index) to reach the file.
    while (!existsSync(file) || statSync(file).size < Buffer.byteLength(text))
      await new Promise((resolve) => setImmediate(resolve));
    assert.equal(existsSync(`${file}.idx`), false, 'four entries are not a batch yet');
    // The writer knows where line 4000 starts, so the read starts there.
    const line4000 = Buffer.byteLength(text.split('\n').slice(0, 4000).join('\n') + '\n');
    assert.equal(w.markOf(4), line4000);
    assert.equal(w.markOf(5), undefined);
    assert.deepEqual(await store.readLines('ae3', 4001, 2), ['line 4001', 'line 4002']);
    await w.close();
    assert.equal(readFileSync(`${file}.idx`).length, 4 * 8);
    // A store that never saw the writer (another process, a restart) reads the index file.
    assert.deepEqual(await new LogStore(dir).readLines('ae3', 3999, 2), ['line 3999', 'line 4000']);
    assert.deepEqual(await store.readLines('ae3', 4999, 5), ['line 4999']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an appender continues the index where the file's lines are, even when a writer that died left entries out", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    const lines = (from: number, to: number): Buffer =>
      Buffer.from(Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join(''));
    const first = store.writer('ae4');
    await first.write(lines(0, 2500), 'stdout');
    await first.close();
    // The batch of entries of the process that died never reached the file.
    writeFileSync(path.join(dir, 'ae4.log.idx'), Buffer.alloc(0));
    const more = await store.appender('ae4');
    assert.equal(more.lines, 2500);
    await more.write(lines(2500, 4200));
    await more.close();
    assert.equal(readFileSync(path.join(dir, 'ae4.log.idx')).length, 4 * 8);
    const fresh = new LogStore(dir);
    assert.deepEqual(await fresh.readLines('ae4', 1000, 1), ['line 1000']);
    assert.deepEqual(await fresh.readLines('ae4', 3001, 2), ['line 3001', 'line 3002']);
    assert.deepEqual(await fresh.readLines('ae4', 4000, 1), ['line 4000']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the writer keeps nothing of the caller's buffer: output read into one reused buffer is stored intact", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    const secret = 'reuse-secret-42';
    const pieces: { stream: string; bytes: Buffer }[] = [];
    for (let i = 0; i < 3000; i += 1) {
      const stream = i % 11 === 5 ? 'stderr' : 'stdout';
      const text =
        i % 97 === 0
          ? `long ${'é'.repeat(40_000)} ${secret} end\n` // past the 64 KiB split, with a secret
          : `${stream} ${i} ${i % 13 === 0 ? `token=${secret}` : 'plain'} ${'y'.repeat(i % 300)}\n`;
      pieces.push({ stream, bytes: Buffer.from(text) });
    }
    const write = async (id: string, reuse: boolean): Promise<string> => {
      const w = store.writer(id);
      w.setTransform(secretMasker([secret]));
      const shared = Buffer.alloc(256 * 1024);
      for (const { stream, bytes } of pieces) {
        // Reads that cut lines (and characters) anywhere.
        for (let at = 0; at < bytes.length; at += 1013) {
          const part = bytes.subarray(at, at + 1013);
          let chunk = Buffer.from(part);
          if (reuse) {
            part.copy(shared);
            chunk = shared.subarray(0, part.length);
          }
          const pending = w.write(chunk, stream);
          // What the attach connection does once write returned: the next read lands in the same memory.
          if (reuse) shared.fill(0x41);
          if (pending) await pending;
        }
      }
      await w.close();
      return readFileSync(path.join(dir, `${id}.log`), 'utf8');
    };
    const fresh = await write('fresh', false);
    const reused = await write('reused', true);
    assert.ok(!fresh.includes(secret) && fresh.includes('token=***'));
    assert.ok(!reused.includes('AAAA'), 'no byte of a later read leaked into the log');
    assert.equal(reused, fresh);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a worker's lines are appended byte for byte: a line ending in CR keeps it, so the worker's offsets hold", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-logs-'));
  try {
    const store = new LogStore(dir);
    // What a worker's writer made of "progress\r\r\n" (one CR of the CRLF trimmed): 10 bytes.
    const chunk = Buffer.from('progress\r\nnext\n');
    const w = await store.appender('ae5');
    await w.writeLines(chunk);
    assert.equal(w.size, chunk.length);
    await w.close();
    const again = await store.appender('ae5');
    assert.equal(again.size, chunk.length);
    assert.throws(() => again.writeLines(Buffer.from('no newline')), /whole lines/);
    await again.writeLines(Buffer.from('last\n'));
    await again.close();
    assert.deepEqual(await store.readLines('ae5', 0, 10), ['progress\r', 'next', 'last']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
