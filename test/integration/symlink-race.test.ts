/**
 * The symlink swap race (issue 8, item 1): one action swaps directories of the pipeline filesystem for
 * symbolic links to a host directory in a tight loop, while other executions of the same pipeline
 * (concurrent_pipeline_runs) mount those directories and export into them. Whatever the timing, nothing of
 * the host directory may be read, written or listed: a path a container can change is only ever resolved by
 * the kernel under Gantry's descriptors. GANTRY_RACE_SECONDS sets how long the swapper runs (default 60).
 */
import { after, before, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addAction, logsOf, makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import {
  actionNamed,
  containersWith,
  instanceLabel,
  removeDirs,
  runPipeline,
  waitFor,
} from '../support/runs.ts';
import { waitForExecution } from '../support/harness.ts';

const SECONDS = Number(process.env.GANTRY_RACE_SECONDS ?? 60);
const MARKER = `host-only-${Math.random().toString(36).slice(2)}`;

let h: Harness;
const hostDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-race-host-'));
writeFileSync(path.join(hostDir, 'marker'), `${MARKER}\n`);
const repo = makeRepo([{ message: 'start', files: { 'README.md': 'race\n' } }]);

before(async () => {
  h = await startGantry({ config: { maxConcurrentExecutions: 3 } });
});

after(async () => {
  await h.close();
  removeDirs(repo.dir, hostDir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
  const volumes = execFileSync(
    'docker',
    ['volume', 'ls', '-q', '--filter', `label=gantry.instance=${instanceLabel(h.dataDir)}`],
    { encoding: 'utf8' },
  );
  assert.equal(volumes.trim(), '', 'the volumes pinning mappings are removed with their containers');
});

test(`${SECONDS} s of swapping directories for links to the host against mounts and exports`, async (t) => {
  const { pipelinePath } = await setupPipeline(h, repo.dir, { concurrent_pipeline_runs: true });
  const swap = (dir: string) => `rm -rf ${dir}; mkdir ${dir}; rm -rf ${dir}; ln -s ${hostDir} ${dir}`;
  const swapperAction = await addAction(h, pipelinePath, {
    name: 'swapper',
    timeout: SECONDS + 120,
    inline_commands: [
      'touch swapper-started',
      `end=$(( $(date +%s) + ${SECONDS} ))`,
      `while [ $(date +%s) -lt $end ]; do for i in 1 2 3 4 5 6 7 8 9 10; do ${swap('race')}; ${swap('race2')}; ${swap('race3/sub')}; done; done`,
      'rm -f swapper-started',
    ].join('\n'),
  });
  // One parallel group: every racing action starts a container at about the same moment.
  const racers = ['mount-1', 'mount-2', 'mount-3', 'export-1', 'export-2', 'mount-stable', 'export-stable'];
  const racerIds: number[] = [];
  for (const [i, name] of racers.entries()) {
    const parallel = i < racers.length - 1 ? { run_next: 'IN_SOFT_PARALLEL' } : {};
    if (name === 'mount-stable')
      racerIds.push(
        (
          await addAction(h, pipelinePath, {
            name,
            ...parallel,
            volume_mappings: ['stable/dir:/mnt'],
            inline_commands: 'echo $HOSTNAME > /mnt/last; cat /mnt/last',
          })
        ).id,
      );
    else if (name === 'export-stable')
      racerIds.push(
        (
          await addAction(h, pipelinePath, {
            name,
            ...parallel,
            inline_commands: 'true',
            export_container_path: 'stable/exp.tar',
          })
        ).id,
      );
    else if (name.startsWith('mount'))
      racerIds.push(
        (
          await addAction(h, pipelinePath, {
            name,
            ...parallel,
            volume_mappings: ['race:/mnt', 'race3/sub:/mnt3'],
            inline_commands:
              'ls -a /mnt /mnt3; cat /mnt/* /mnt3/*; echo owned > /mnt/marker; echo owned > /mnt/new-$HOSTNAME; echo owned > /mnt3/new-$HOSTNAME; true',
          })
        ).id,
      );
    else
      racerIds.push(
        (
          await addAction(h, pipelinePath, {
            name,
            ...parallel,
            inline_commands: 'true',
            export_container_path: `race2/${name}.tar`,
          })
        ).id,
      );
  }
  const before = readdirSync(hostDir).sort();

  const swapper = await runPipeline(h, pipelinePath, { actions_to_run: [swapperAction.id] });
  assert.equal(swapper.status, 200, JSON.stringify(swapper.body));
  await waitFor(
    'the swapper to start',
    async () => (await h.request('GET', swapper.path)).body.action_executions?.[0]?.status === 'INPROGRESS',
    60_000,
  );

  let racingRuns = 0;
  let succeeded = 0;
  const errors = new Set<string>();
  const racingExecutions: string[] = [];
  const racer = async (): Promise<void> => {
    for (;;) {
      const e = (await h.request('GET', swapper.path)).body;
      if (['SUCCESSFUL', 'FAILED', 'TERMINATED'].includes(e.status)) return;
      const run = await runPipeline(h, pipelinePath, { actions_to_run: racerIds });
      assert.equal(run.status, 200, JSON.stringify(run.body));
      racingExecutions.push(run.path);
      const done = await waitForExecution(h, run.path, 180_000);
      racingRuns += racers.filter((name) => actionNamed(done, name).status !== 'NOT_EXECUTED').length;
      for (const name of racers) errors.add(String(actionNamed(done, name).error_message));
      succeeded += racers.filter((name) => actionNamed(done, name).status === 'SUCCESSFUL').length;
      // Under the same load, mounts and exports of directories nobody swaps keep working.
      assert.equal(actionNamed(done, 'mount-stable').status, 'SUCCESSFUL', run.path);
      assert.equal(actionNamed(done, 'export-stable').status, 'SUCCESSFUL', run.path);
    }
  };
  await Promise.all([racer(), racer()]);
  const swapped = await waitForExecution(h, swapper.path, 60_000);
  assert.equal(swapped.status, 'SUCCESSFUL', 'the swapper ran its whole loop');
  t.diagnostic(
    `racing container runs: ${racingRuns} (${succeeded} successful) in ${racingExecutions.length} executions`,
  );
  console.log(
    `symlink race: ${racingRuns} racing container runs (${succeeded} successful) in ${racingExecutions.length} executions`,
  );
  assert.ok(racingExecutions.length >= 2, 'the racers ran while the swapper swapped');
  t.diagnostic(`errors: ${[...errors].join(' | ')}`);

  // Nothing of the host directory was written, replaced or listed into a log.
  assert.deepEqual(readdirSync(hostDir).sort(), before);
  assert.equal(readFileSync(path.join(hostDir, 'marker'), 'utf8'), `${MARKER}\n`);
  for (const p of racingExecutions) {
    const e = (await h.request('GET', p)).body;
    for (const name of racers.filter((n) => n.startsWith('mount-') && n !== 'mount-stable')) {
      const logs = await logsOf(h, p, actionNamed(e, name).action_execution_id);
      assert.ok(!logs.some((l) => l.includes(MARKER)), `${name} of ${p} read the host marker`);
      assert.ok(!logs.some((l) => l.includes(path.basename(hostDir))), `${name} of ${p} saw the host path`);
    }
  }
});
