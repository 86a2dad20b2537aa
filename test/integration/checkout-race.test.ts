/**
 * The checkout race (issue 8, item 1): while a checkout writes the pipeline filesystem, a container of
 * another run of the same pipeline (concurrent_pipeline_runs) swaps a directory for a symbolic link to a host
 * directory. Whatever the timing, nothing may be written (or removed) outside the pipeline filesystem.
 * First at the git level with a shell loop as the swapper (the same system calls a container makes, without
 * Docker's start-up time between checkouts), then end to end with real runs.
 * GANTRY_CHECKOUT_RACE_SECONDS sets how long the Docker swapper runs (default 30).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkout } from '../../src/repo/index.ts';
import { addAction, makeRepo, setupPipeline, startGantry, waitForExecution } from '../support/harness.ts';
import { actionNamed, removeDirs, runPipeline, waitFor } from '../support/runs.ts';

const SECONDS = Number(process.env.GANTRY_CHECKOUT_RACE_SECONDS ?? 30);
const MARKER = `host-only-${Math.random().toString(36).slice(2)}`;
const hostDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-checkout-race-host-'));
writeFileSync(path.join(hostDir, 'marker'), `${MARKER}\n`);

/** Many files under the directories the swapper swaps: a checkout spends most of its time writing there. */
const files: Record<string, string> = { 'README.md': 'race\n' };
for (let i = 0; i < 150; i += 1) {
  files[`race/f${i}.txt`] = `file ${i}\n`;
  files[`deep/race/g${i}.txt`] = `file ${i}\n`;
}
const repo = makeRepo([
  { message: 'one', files },
  { message: 'two', files: { 'race/f0.txt': 'changed\n', 'deep/race/g1.txt': null } },
]);

after(() => removeDirs(repo.dir, hostDir));

/** SIGKILLs process group `pgid` and waits until none of its processes is left. */
async function stopGroup(pgid: number): Promise<void> {
  process.kill(-pgid, 'SIGKILL');
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // ESRCH: the group is gone
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function hostListing(): string[] {
  return readdirSync(hostDir).sort();
}

test('checkouts racing a loop that swaps directories for links write nothing outside', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gantry-checkout-race-'));
  const mirror = path.join(tmp, 'mirror.git');
  execFileSync('git', ['clone', '--quiet', '--bare', repo.dir, mirror]);
  const root = path.join(tmp, 'pipeline');
  const workTree = path.join(root, 'fs');
  mkdirSync(workTree, { recursive: true });
  const before = hostListing();
  const swap = (dir: string): string =>
    `rm -rf ${dir}; mkdir -p ${dir}; rm -rf ${dir}; ln -s ${hostDir} ${dir}`;
  // Its own process group: stopping it stops the rm, mkdir or ln it is running too. Killing only the
  // shell once let a late `ln -s` land inside the final checkout's directory (150 entries, not 149).
  const swapper = spawn('sh', ['-c', `while :; do ${swap('race')}; ${swap('deep/race')}; done`], {
    cwd: workTree,
    stdio: 'ignore',
    detached: true,
  });
  let checkouts = 0;
  let failed = 0;
  try {
    for (let i = 0; i < 300; i += 1) {
      const sha = repo.shas[i % 2]!;
      try {
        await checkout({
          mirrorPath: mirror,
          sha,
          workTree,
          indexFile: path.join(root, 'index'),
          clean: i % 7 === 0,
        });
      } catch {
        failed += 1; // a swapped tree may make a checkout fail; it must never make it write outside
      }
      checkouts += 1;
    }
  } finally {
    await stopGroup(swapper.pid!);
  }
  console.log(
    `checkout race (git level): ${checkouts} checkouts (${failed} failed) against the swapping loop`,
  );
  assert.deepEqual(hostListing(), before, 'nothing was written into the host directory');
  assert.equal(readFileSync(path.join(hostDir, 'marker'), 'utf8'), `${MARKER}\n`);
  // Once the swapping stops, a checkout is whole again.
  await checkout({
    mirrorPath: mirror,
    sha: repo.shas[1]!,
    workTree,
    indexFile: path.join(root, 'index'),
    clean: false,
  });
  assert.equal(readFileSync(path.join(workTree, 'race', 'f0.txt'), 'utf8'), 'changed\n');
  // Revision two's files, g1.txt deleted. Besides them, the swapper's `ln -s` may have landed inside a
  // directory the checkout had just made (a link named after the host directory, inside the work tree):
  // an untracked entry, which a checkout that is not clean leaves as it leaves any untracked file.
  const expected = Object.keys(files)
    .filter((f) => f.startsWith('deep/race/') && f !== 'deep/race/g1.txt')
    .map((f) => path.basename(f))
    .sort();
  const listed = readdirSync(path.join(workTree, 'deep', 'race'), { withFileTypes: true }).filter(
    (e) => !(e.isSymbolicLink() && e.name === path.basename(hostDir)),
  );
  assert.deepEqual(listed.map((e) => e.name).sort(), expected);
  removeDirs(tmp);
});

test(`${SECONDS} s of a run swapping directories for links while other runs check out`, async () => {
  const h = await startGantry({ config: { maxConcurrentExecutions: 3 } });
  try {
    const { pipelinePath } = await setupPipeline(h, repo.dir, { concurrent_pipeline_runs: true });
    const swap = (dir: string): string =>
      `rm -rf ${dir}; mkdir -p ${dir}; rm -rf ${dir}; ln -s ${hostDir} ${dir}`;
    const swapperAction = await addAction(h, pipelinePath, {
      name: 'swapper',
      timeout: SECONDS + 120,
      inline_commands: [
        `end=$(( $(date +%s) + ${SECONDS} ))`,
        `while [ $(date +%s) -lt $end ]; do for i in 1 2 3 4 5 6 7 8 9 10; do ${swap('race')}; ${swap('deep/race')}; done; done`,
      ].join('\n'),
    });
    const checker = await addAction(h, pipelinePath, { name: 'after-checkout', inline_commands: 'true' });
    const before = hostListing();
    const swapper = await runPipeline(h, pipelinePath, { actions_to_run: [swapperAction.id] });
    assert.equal(swapper.status, 200, JSON.stringify(swapper.body));
    await waitFor(
      'the swapper to start',
      async () => (await h.request('GET', swapper.path)).body.action_executions?.[0]?.status === 'INPROGRESS',
      60_000,
    );
    let racingRuns = 0;
    const racer = async (): Promise<void> => {
      for (let n = 0; ; n += 1) {
        const e = (await h.request('GET', swapper.path)).body;
        if (['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(e.status)) return;
        // Alternate revisions (and now and then a clean checkout), so every run has files to write.
        const run = await runPipeline(h, pipelinePath, {
          actions_to_run: [checker.id],
          to_revision: { revision: repo.shas[n % 2] },
          refresh: n % 5 === 0,
        });
        assert.equal(run.status, 200, JSON.stringify(run.body));
        await waitForExecution(h, run.path, 180_000);
        racingRuns += 1;
      }
    };
    await Promise.all([racer(), racer()]);
    const swapped = await waitForExecution(h, swapper.path, 60_000);
    assert.equal(swapped.status, 'SUCCESSFUL', 'the swapper ran its whole loop');
    assert.equal(actionNamed(swapped, 'swapper').status, 'SUCCESSFUL');
    console.log(`checkout race (Docker): ${racingRuns} racing runs checked out while the swapper swapped`);
    assert.ok(racingRuns >= 2, 'runs checked out while the swapper swapped');
    assert.deepEqual(hostListing(), before, 'nothing was written into the host directory');
    assert.equal(readFileSync(path.join(hostDir, 'marker'), 'utf8'), `${MARKER}\n`);
  } finally {
    await h.close();
  }
});
