/**
 * Action containers run confined (issue 8, item 5): no-new-privileges (a setuid binary does not raise
 * privileges), and the memory, CPU and process limits from the configuration, read from inside the container.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addAction, logsOf, makeRepo, setupPipeline, startGantry, type Harness } from '../support/harness.ts';
import { actionNamed, containersWith, instanceLabel, removeDirs, runToEnd } from '../support/runs.ts';

let h: Harness;
const repo = makeRepo([{ message: 'start', files: { 'README.md': 'x\n' } }]);

before(async () => {
  h = await startGantry({ config: { containerMemoryMb: 256, containerCpus: 0.5, containerPidsLimit: 64 } });
});

after(async () => {
  await h.close();
  removeDirs(repo.dir);
  assert.deepEqual(containersWith(`gantry.instance=${instanceLabel(h.dataDir)}`), []);
});

/** The first line of a cgroup file, v1 or v2 layout. */
const cgroup = (v1: string, v2: string): string =>
  `cat /sys/fs/cgroup/${v1} 2>/dev/null || cat /sys/fs/cgroup/${v2} 2>/dev/null || echo none`;

test('no-new-privileges and the configured memory, CPU and pids limits apply to every action container', async () => {
  const { pipelinePath } = await setupPipeline(h, repo.dir);
  await addAction(h, pipelinePath, {
    name: 'reads-its-limits',
    inline_commands: [
      'grep NoNewPrivs /proc/self/status',
      `echo memory=$(${cgroup('memory/memory.limit_in_bytes', 'memory.max')})`,
      `echo pids=$(${cgroup('pids/pids.max', 'pids.max')})`,
      `echo cpu=$(${cgroup('cpu/cpu.cfs_quota_us', 'cpu.max')})`,
    ].join('\n'),
  });
  const { execution: e, path: p } = await runToEnd(h, pipelinePath);
  const a = actionNamed(e, 'reads-its-limits');
  assert.equal(a.status, 'SUCCESSFUL', a.error_message);
  const logs = (await logsOf(h, p, a.action_execution_id)).join('\n');
  assert.match(logs, /NoNewPrivs:\s+1/);
  assert.match(logs, /memory=268435456\b/);
  assert.match(logs, /pids=64\b/);
  assert.match(logs, /cpu=50000\b/);
});
