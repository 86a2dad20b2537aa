/**
 * DockerRuntime against the real engine. Assumes scripts/setup-docker.sh and scripts/build-test-images.sh
 * have run (engine on /var/run/docker.sock, gantry-test/busybox:latest present). Every container carries
 * the label gantry.test=<run id> and is removed at the end; containers use network mode "none".
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import {
  ImageMissingError,
  RuntimeError,
  type ContainerSpec,
  type OutputStream,
} from '../../src/runtime/container-runtime.ts';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.ts';

const IMAGE = 'gantry-test/busybox:latest';
const runId = randomBytes(6).toString('hex');
const labels = { 'gantry.test': runId };
const runtime = new DockerRuntime({ dockerHost: '/var/run/docker.sock' });
const imagesToRemove: string[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gantry-docker-runtime-'));

after(async () => {
  for (const c of await runtime.listContainers(labels)) await runtime.removeContainer(c.id);
  for (const ref of imagesToRemove) await runtime.removeImage(ref);
  rmSync(tmp, { recursive: true, force: true });
});

function spec(overrides: Partial<ContainerSpec>): ContainerSpec {
  return { image: IMAGE, env: {}, binds: [], labels, networkMode: 'none', ...overrides };
}

interface Run {
  exitCode: number;
  /** Consecutive chunks of the same stream merged, in arrival order. */
  output: { stream: OutputStream; text: string }[];
  text: string;
}

/** create → attach → start → wait → output end → remove. */
async function run(overrides: Partial<ContainerSpec>): Promise<Run> {
  const id = await runtime.createContainer(spec(overrides));
  try {
    const output: Run['output'] = [];
    const { done } = await runtime.attachOutput(id, (chunk, stream) => {
      const last = output.at(-1);
      if (last?.stream === stream) last.text += chunk.toString();
      else output.push({ stream, text: chunk.toString() });
    });
    await runtime.startContainer(id);
    const { exitCode } = await runtime.waitContainer(id);
    await done;
    return { exitCode, output, text: output.map((o) => o.text).join('') };
  } finally {
    await runtime.removeContainer(id);
  }
}

test('ping answers', async () => {
  await runtime.ping();
});

test('an unreachable engine is a retryable RuntimeError naming the address', async () => {
  const missing = new DockerRuntime({ dockerHost: path.join(tmp, 'no-such.sock') });
  await assert.rejects(missing.ping(), (err: unknown) => {
    assert.ok(err instanceof RuntimeError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /cannot reach the Docker engine at .*no-such\.sock/);
    return true;
  });
});

test('stdout and stderr arrive separated and in order', async () => {
  // The engine reads the two pipes independently, so only output separated in time has a defined order.
  const result = await run({ cmd: ['sh', '-c', 'echo a; sleep 0.3; echo b >&2; sleep 0.3; echo c'] });
  assert.equal(result.exitCode, 0);
  assert.deepEqual(result.output, [
    { stream: 'stdout', text: 'a\n' },
    { stream: 'stderr', text: 'b\n' },
    { stream: 'stdout', text: 'c\n' },
  ]);
});

test('the exit code is reported', async () => {
  const result = await run({ cmd: ['sh', '-c', 'exit 3'] });
  assert.equal(result.exitCode, 3);
});

test('env, user, working directory and binds reach the container', async () => {
  const rw = path.join(tmp, 'rw');
  const ro = path.join(tmp, 'ro');
  mkdirSync(rw);
  mkdirSync(ro);
  chmodSync(rw, 0o777); // written by uid 1000 inside the container
  writeFileSync(path.join(ro, 'in.txt'), 'from host\n');
  const result = await run({
    cmd: [
      'sh',
      '-c',
      'echo "$GREETING|$(id -u)|$(pwd)"; cat /ro/in.txt; echo out > /rw/out.txt; touch /ro/x 2>/dev/null || echo ro-refused',
    ],
    env: { GREETING: 'hello world', EMPTY: '' },
    user: 'notRoot',
    workingDir: '/home/notRoot',
    binds: [
      { hostPath: rw, containerPath: '/rw' },
      { hostPath: ro, containerPath: '/ro', readOnly: true },
    ],
  });
  assert.equal(result.exitCode, 0, result.text);
  assert.equal(result.text, 'hello world|1000|/home/notRoot\nfrom host\nro-refused\n');
  assert.equal(readFileSync(path.join(rw, 'out.txt'), 'utf8'), 'out\n');
});

test('stop with a short grace period kills a container that ignores SIGTERM; remove leaves nothing', async () => {
  const stopLabels = { ...labels, 'gantry.test.case': 'stop' };
  // PID 1 ignores SIGTERM unless it installs a handler, so this needs the SIGKILL after the grace period.
  const id = await runtime.createContainer(spec({ cmd: ['sleep', '600'], labels: stopLabels }));
  await runtime.startContainer(id);
  const [listed] = await runtime.listContainers(stopLabels);
  assert.equal(listed?.id, id);
  assert.equal(listed?.state, 'running');
  assert.equal(listed?.labels['gantry.test'], runId);

  const started = Date.now();
  await runtime.stopContainer(id, 1);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 6000, `stop took ${elapsed} ms`);
  const { exitCode } = await runtime.waitContainer(id);
  assert.equal(exitCode, 137); // 128 + SIGKILL

  await runtime.stopContainer(id, 1); // already stopped: not an error
  await runtime.removeContainer(id);
  assert.deepEqual(await runtime.listContainers(stopLabels), []);
  await runtime.removeContainer(id); // already gone: not an error
  await runtime.stopContainer(id, 1);
});

test('export yields the filesystem with the files the command wrote', async () => {
  const id = await runtime.createContainer(
    spec({ cmd: ['sh', '-c', 'mkdir -p /work && echo exported > /work/marker.txt'] }),
  );
  try {
    await runtime.startContainer(id);
    assert.equal((await runtime.waitContainer(id)).exitCode, 0);
    const extract = tar.extract();
    (await runtime.exportContainer(id)).pipe(extract);
    const files = new Map<string, string>();
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.?\//, '');
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (name === 'work/marker.txt' || name === 'etc/passwd')
        files.set(name, Buffer.concat(chunks).toString());
    }
    assert.equal(files.get('work/marker.txt'), 'exported\n');
    assert.match(files.get('etc/passwd') ?? '', /^notRoot:x:1000:/m);
  } finally {
    await runtime.removeContainer(id);
  }
});

test('pulling from an unreachable registry rejects quickly with the engine message', async () => {
  const started = Date.now();
  const progress: string[] = [];
  await assert.rejects(
    runtime.pullImage('127.0.0.1:1/nothing:latest', undefined, (line) => progress.push(line)),
    (err: unknown) => {
      assert.ok(err instanceof RuntimeError);
      assert.match(err.message, /127\.0\.0\.1:1\/nothing:latest/);
      assert.match(err.message, /connection refused/i);
      return true;
    },
  );
  assert.ok(Date.now() - started < 15_000);
  assert.equal(await runtime.imageExists('127.0.0.1:1/nothing:latest'), false);
});

test('20 MB of output arrives complete without being buffered in memory', async () => {
  const size = 20_000_000;
  const id = await runtime.createContainer(
    spec({ cmd: ['sh', '-c', `yes 0123456789abcdef | head -c ${size}; echo tail >&2`] }),
  );
  try {
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let stdout = 0;
    let stderr = '';
    let chunks = 0;
    let lastByte = -1;
    let wellFormed = true;
    const { done } = await runtime.attachOutput(id, (chunk, stream) => {
      if (stream === 'stderr') {
        stderr += chunk.toString();
        return;
      }
      // Byte i of the output is "0123456789abcdef\n"[i % 17]: check continuity across chunk boundaries.
      const pattern = '0123456789abcdef\n';
      if (chunk[0] !== pattern.charCodeAt((lastByte + 1) % 17)) wellFormed = false;
      lastByte = (lastByte + chunk.length) % 17;
      stdout += chunk.length;
      if (++chunks % 64 === 0) {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        // An occasional slow consumer: reading pauses until this settles.
        return new Promise((resolve) => setTimeout(resolve, 2));
      }
    });
    await runtime.startContainer(id);
    assert.equal((await runtime.waitContainer(id)).exitCode, 0);
    await done;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    assert.equal(stdout, size);
    assert.ok(wellFormed, 'stdout bytes out of sequence');
    assert.equal(stderr, 'tail\n');
    const growthMb = (peakRss - rssBefore) / 1e6;
    assert.ok(growthMb < 150, `RSS grew by ${growthMb.toFixed(1)} MB`);
  } finally {
    await runtime.removeContainer(id);
  }
});

test("attaching reads into one reused buffer: stdout and stderr stay apart and whole, a missing container is the engine's error", async () => {
  // Interleaved writes of both streams, some larger than a read, some a few bytes.
  const script =
    'i=0; while [ $i -lt 300 ]; do echo "out $i $(head -c $((i * 97 % 5000)) /dev/zero | tr "\\0" x)"; ' +
    'if [ $((i % 7)) -eq 3 ]; then echo "err $i" >&2; fi; i=$((i + 1)); done';
  const id = await runtime.createContainer(spec({ cmd: ['sh', '-c', script] }));
  try {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const { done } = await runtime.attachOutput(id, (chunk, stream) => {
      // A view into the connection's buffer: copied, as every consumer must.
      (stream === 'stdout' ? out : err).push(Buffer.from(chunk));
    });
    await runtime.startContainer(id);
    assert.equal((await runtime.waitContainer(id)).exitCode, 0);
    await done;
    const expectedOut = Array.from(
      { length: 300 },
      (_, i) => `out ${i} ${'x'.repeat((i * 97) % 5000)}\n`,
    ).join('');
    const expectedErr = Array.from({ length: 300 }, (_, i) => i)
      .filter((i) => i % 7 === 3)
      .map((i) => `err ${i}\n`)
      .join('');
    assert.equal(Buffer.concat(out).toString(), expectedOut);
    assert.equal(Buffer.concat(err).toString(), expectedErr);
  } finally {
    await runtime.removeContainer(id);
  }
  await assert.rejects(
    runtime.attachOutput('gantry-no-such-container-' + runId, () => undefined),
    (e: unknown) =>
      e instanceof RuntimeError && /no such container/i.test(e.message) && /404/.test(e.message),
  );
});

/** A build context holding just a Dockerfile. */
function context(dockerfile: string): Readable {
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile' }, dockerfile);
  pack.finalize();
  return Readable.from(pack);
}

test('buildImage builds an image that containers run; entrypoint handling; tag and remove', async () => {
  const tag = `gantry-test/built-${runId}:latest`;
  const extraTag = `gantry-test/built-${runId}:extra`;
  imagesToRemove.push(extraTag, tag);
  const lines: string[] = [];
  const { imageId } = await runtime.buildImage({
    context: context(
      `FROM ${IMAGE}\nARG WHO=nobody\nRUN echo built by $WHO > /built.txt\nENTRYPOINT ["echo", "from-entrypoint"]\n`,
    ),
    dockerfile: 'Dockerfile',
    tags: [tag],
    buildArgs: { WHO: 'gantry' },
    networkMode: 'none',
    labels,
    onOutput: (line) => lines.push(line),
  });
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
  assert.ok(
    lines.some((l) => /Step 1\/\d+ : FROM/.test(l)),
    lines.join('\n'),
  );
  assert.ok(await runtime.imageExists(tag));

  // entrypoint [] drops the image's entrypoint; undefined keeps it.
  const cleared = await run({ image: tag, entrypoint: [], cmd: ['cat', '/built.txt'] });
  assert.equal(cleared.text, 'built by gantry\n');
  const kept = await run({ image: tag, cmd: ['x'] });
  assert.equal(kept.text, 'from-entrypoint x\n');
  const replaced = await run({ image: tag, entrypoint: ['cat'], cmd: ['/built.txt'] });
  assert.equal(replaced.text, 'built by gantry\n');

  await runtime.tagImage(tag, extraTag);
  assert.ok(await runtime.imageExists(extraTag));
  await runtime.removeImage(extraTag);
  await runtime.removeImage(tag);
  assert.equal(await runtime.imageExists(tag), false);
  await runtime.removeImage(tag); // already gone: not an error
});

test("an image removed behind the runtime's back: imageExists stops answering from memory once create finds it gone", async () => {
  const tag = `gantry-test/vanishing-${runId}:latest`;
  imagesToRemove.push(tag);
  // Another runtime stands for someone else (docker rmi): this one does not see the removal.
  const other = new DockerRuntime({ dockerHost: '/var/run/docker.sock' });
  await other.tagImage(IMAGE, tag);
  assert.ok(await runtime.imageExists(tag));
  await other.removeImage(tag);
  // Remembered as present: no inspect per container ...
  assert.ok(await runtime.imageExists(tag));
  // ... so the create is what finds out, with an error the engine's caller can act on (pull again).
  await assert.rejects(runtime.createContainer(spec({ image: tag, cmd: ['true'] })), (err: unknown) => {
    assert.ok(err instanceof ImageMissingError, String(err));
    assert.match((err as Error).message, /no such image/i);
    return true;
  });
  assert.equal(await runtime.imageExists(tag), false);
  // Tagged again, it is found again.
  await other.tagImage(IMAGE, tag);
  assert.ok(await runtime.imageExists(tag));
  const again = await run({ image: tag, cmd: ['echo', 'back'] });
  assert.equal(again.text, 'back\n');
});

test('a failing build step rejects with the engine message', async () => {
  const tag = `gantry-test/broken-${runId}:latest`;
  imagesToRemove.push(tag);
  const lines: string[] = [];
  await assert.rejects(
    runtime.buildImage({
      context: context(`FROM ${IMAGE}\nRUN echo about to fail; exit 7\n`),
      dockerfile: 'Dockerfile',
      tags: [tag],
      buildArgs: {},
      networkMode: 'none',
      labels,
      onOutput: (line) => lines.push(line),
    }),
    (err: unknown) => {
      assert.ok(err instanceof RuntimeError);
      assert.match(err.message, /returned a non-zero code: 7/);
      return true;
    },
  );
  assert.ok(lines.includes('about to fail'), lines.join('\n'));
  assert.equal(await runtime.imageExists(tag), false);
});

test('detach ends the attachment of a container removed without being started', async () => {
  const id = await runtime.createContainer(spec({ cmd: ['sh', '-c', 'echo never'] }));
  const chunks: Buffer[] = [];
  const { done, detach } = await runtime.attachOutput(id, (chunk) => {
    chunks.push(chunk);
  });
  detach();
  await runtime.removeContainer(id);
  // Settles (either way) instead of waiting forever for output that never comes.
  await done.catch(() => undefined);
  assert.deepEqual(chunks, []);
  assert.deepEqual(
    (await runtime.listContainers(labels)).filter((c) => c.id === id),
    [],
  );
});
