import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startGantry, TEST_IMAGE, type Harness } from '../support/harness.ts';
import { containersWith, instanceLabel } from '../support/runs.ts';

/**
 * Each data directory gets its own random instance id at the first start (instance-id), kept across
 * restarts; a data directory from before the file existed still has its containers swept under the
 * path-derived id the previous version used.
 *
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
  for (const name of made) {
    if (name.startsWith('container:'))
      execFileSync('docker', ['rm', '-f', name.slice('container:'.length)], { stdio: 'ignore' });
    else if (exists(name)) execFileSync('docker', ['volume', 'rm', '-f', name]);
  }
});

test('leftover gantry-pin-* volumes of this instance are swept at start; others are kept', async () => {
  const instance = instanceLabel(h.dataDir);
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

test('the instance id is random, kept in the data directory across restarts; the start that writes it sweeps the former path-derived id too', async () => {
  const id = instanceLabel(h.dataDir);
  assert.match(id, /^[0-9a-f]{16}$/);
  const pathDerived = createHash('sha256').update(h.dataDir).digest('hex').slice(0, 16);
  assert.notEqual(id, pathDerived, 'not derived from the path: two machines may use the same one');
  await h.restart();
  assert.equal(instanceLabel(h.dataDir), id, 'kept across a restart');

  // As the previous version left it: no instance-id file, a container under the path-derived id.
  const image = `${TEST_IMAGE.docker_image_name}:${TEST_IMAGE.docker_image_tag}`;
  const former = execFileSync('docker', [
    'run',
    '-d',
    '--network',
    'none',
    '--label',
    `gantry.instance=${pathDerived}`,
    image,
    'sleep',
    '600',
  ])
    .toString()
    .trim();
  made.push(`container:${former}`);
  rmSync(path.join(h.dataDir, 'instance-id'));
  await h.restart();
  assert.deepEqual(
    containersWith(`gantry.instance=${pathDerived}`),
    [],
    "the former id's container was removed",
  );
  const renewed = readFileSync(path.join(h.dataDir, 'instance-id'), 'utf8').trim();
  assert.match(renewed, /^[0-9a-f]{16}$/);
  assert.notEqual(renewed, id, 'a new random id');
});
