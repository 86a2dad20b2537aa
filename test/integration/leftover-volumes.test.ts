import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { startGantry, type Harness } from '../support/harness.ts';

/**
 * A helper volume pinning a volume mapping (gantry-pin-*) that a crash left behind is removed when the
 * server starts again; another Gantry's, one still used by a container, and anyone else's are kept.
 */

let h: Harness;
const made: string[] = [];
let container = '';

function volume(labels: Record<string, string>, name = `gantry-pin-${randomUUID()}`): string {
  execFileSync('docker', [
    'volume',
    'create',
    ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    name,
  ]);
  made.push(name);
  return name;
}

function exists(name: string): boolean {
  return (
    execFileSync('docker', ['volume', 'ls', '-q', '--filter', `name=^${name}$`])
      .toString()
      .trim() === name
  );
}

before(async () => {
  h = await startGantry();
});
after(async () => {
  await h.close();
  if (container !== '') execFileSync('docker', ['rm', '-f', container]);
  for (const name of made) if (exists(name)) execFileSync('docker', ['volume', 'rm', '-f', name]);
});

test('leftover gantry-pin-* volumes of this instance are swept at start; others are kept', async () => {
  const instance = createHash('sha256').update(h.dataDir).digest('hex').slice(0, 16);
  const ours = volume({ 'gantry.instance': instance, 'gantry.pinned': '1' });
  const another = volume({ 'gantry.instance': 'someone-else', 'gantry.pinned': '1' });
  const unlabelled = volume({}, `gantry-pin-${randomUUID()}`);
  const notOurs = volume({ 'gantry.instance': instance, 'gantry.pinned': '1' }, `user-data-${randomUUID()}`);
  const inUse = volume({ 'gantry.instance': instance, 'gantry.pinned': '1' });
  container = execFileSync('docker', ['create', '-v', `${inUse}:/x`, 'gantry-test/busybox', 'true'])
    .toString()
    .trim();
  await h.restart();
  assert.equal(exists(ours), false, 'the leftover of this instance is gone');
  for (const kept of [another, unlabelled, notOurs, inUse])
    assert.equal(exists(kept), true, `${kept} is kept`);
});
