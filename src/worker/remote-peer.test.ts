import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import type { Workload } from '../engine/runner-peer.ts';
import type { WorkerClient } from './client.ts';
import { RemoteRunnerPeer } from './remote-peer.ts';

const DAY = 24 * 3600_000;
const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-peer-prune-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** A version directory under the worker's data directory, last used `ageDays` ago. */
function version(packageId: string, versionId: string, ageDays: number): string {
  const dir = path.join(dataDir, 'packages', packageId, versionId);
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const when = new Date(Date.now() - ageDays * DAY);
  utimesSync(dir, when, when);
  return dir;
}

test('pruning removes the package copies unused for longer than kept, except those a held execution pins', async () => {
  const pinned = version('pkg1', 'ver-pinned', 30);
  const stale = version('pkg1', 'ver-stale', 30);
  const recent = version('pkg2', 'ver-recent', 1);
  const works = new Map<number, { work: Workload; abort: (reason: string) => void }>();
  const work = { pinnedPackage: { packageId: 'pkg1', versionId: 'ver-pinned' } } as unknown as Workload;
  works.set(7, { work, abort: () => undefined });
  // Pruning never talks to a server.
  const peer = new RemoteRunnerPeer(
    null as unknown as WorkerClient,
    dataDir,
    works,
    pino({ level: 'silent' }),
  );

  assert.equal(await peer.prunePackages(7 * DAY), 1);
  assert.ok(existsSync(pinned), 'a version an execution on this worker pins stays');
  assert.ok(!existsSync(stale), 'a version unused for 30 days goes');
  assert.ok(existsSync(recent), 'a version used yesterday stays');

  // Once the execution is gone, its version goes too; two prunings in a row run one after the other.
  works.delete(7);
  const [first, second] = await Promise.all([peer.prunePackages(7 * DAY), peer.prunePackages(7 * DAY)]);
  assert.deepEqual([first, second], [1, 0]);
  assert.ok(!existsSync(pinned));
  assert.ok(existsSync(recent));
});
