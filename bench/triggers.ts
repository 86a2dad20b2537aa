/**
 * Trigger benchmarks, each against a same-run baseline:
 * 1. time from `git push` returning to the triggered execution existing (hosted repository, PUSH event);
 * 2. engine throughput (executions of a one-action pipeline per second) with five workspace webhooks
 *    whose targets each take 2 s to answer, against the same runs with no webhooks.
 * Run: node --import tsx bench/triggers.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { gitClient, withCredentials } from '../test/support/git-client.ts';
import {
  addAction,
  git,
  makeRepo,
  startGantry,
  waitForExecution,
  type Harness,
} from '../test/support/harness.ts';

async function pushLatency(): Promise<number[]> {
  const h = await startGantry({ listen: true });
  const repo = makeRepo([{ message: 'first', files: { 'a.txt': '0\n' } }]);
  try {
    await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' });
    const project = await h.request('POST', '/api/workspaces/ws/projects', {
      display_name: 'Site',
      name: 'site',
    });
    const url = withCredentials(project.body.http_repository, h.token);
    const p = await h.request('POST', '/api/workspaces/ws/projects/site/pipelines', {
      name: 'on push',
      events: [{ type: 'PUSH', refs: ['refs/heads/master'] }],
    });
    await addAction(h, `/api/workspaces/ws/projects/site/pipelines/${p.body.id}`, { name: 'ok' });
    const samples: number[] = [];
    for (let i = 0; i < 12; i++) {
      git(repo.dir, 'commit', '-q', '--allow-empty', '-m', `c${i}`);
      const res = await gitClient(repo.dir, 'push', '-q', url, 'HEAD:master');
      if (!res.ok) throw new Error(res.stderr);
      const returned = performance.now();
      for (;;) {
        const row = await h.gantry.db
          .selectFrom('executions')
          .select('id')
          .where('pipeline_id', '=', p.body.id)
          .where('revision', '=', git(repo.dir, 'rev-parse', 'HEAD'))
          .executeTakeFirst();
        if (row) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      samples.push(performance.now() - returned);
      await new Promise((r) => setTimeout(r, 300));
    }
    return samples.slice(2); // the first pushes warm up the mirror
  } finally {
    await h.close();
    rmSync(repo.dir, { recursive: true, force: true });
  }
}

async function throughput(h: Harness, pipelinePath: string, runs: number): Promise<number> {
  const start = performance.now();
  const ids: number[] = [];
  for (let i = 0; i < runs; i++)
    ids.push((await h.request('POST', `${pipelinePath}/executions`, {})).body.id);
  for (const id of ids) await waitForExecution(h, `${pipelinePath}/executions/${id}`, 300_000);
  return runs / ((performance.now() - start) / 1000);
}

async function webhookThroughput(): Promise<{ none: number[]; slow: number[] }> {
  const slowTarget = createServer((req, res) => {
    req.resume();
    setTimeout(() => res.writeHead(200).end('ok'), 2000);
  });
  await new Promise<void>((r) => slowTarget.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(slowTarget.address() as AddressInfo).port}/`;
  const h = await startGantry({ config: { maxConcurrentExecutions: 2 } });
  const repo = makeRepo([{ message: 'first', files: { 'a.txt': '0\n' } }]);
  try {
    await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' });
    await h.request('POST', '/api/workspaces/ws/projects', {
      display_name: 'P',
      name: 'p',
      custom_repo_url: repo.dir,
    });
    const p = await h.request('POST', '/api/workspaces/ws/projects/p/pipelines', {
      name: 'fast',
      concurrent_pipeline_runs: true,
    });
    const path = `/api/workspaces/ws/projects/p/pipelines/${p.body.id}`;
    await addAction(h, path, { name: 'ok' });
    await throughput(h, path, 2); // warm-up
    const none: number[] = [];
    const slow: number[] = [];
    const hookIds: number[] = [];
    // Alternate the two conditions so drift on the shared machine hits both alike.
    for (let round = 0; round < 3; round++) {
      none.push(await throughput(h, path, 10));
      for (let i = 0; i < 5; i++) {
        const w = await h.request('POST', '/api/workspaces/ws/webhooks', {
          events: ['EXECUTION_STARTED', 'EXECUTION_FINISHED', 'EXECUTION_SUCCESSFUL'],
          target_url: target,
        });
        hookIds.push(w.body.id);
      }
      slow.push(await throughput(h, path, 10));
      for (const id of hookIds.splice(0)) await h.request('DELETE', `/api/workspaces/ws/webhooks/${id}`);
    }
    return { none, slow };
  } finally {
    await h.close();
    await new Promise((r) => slowTarget.close(r));
    rmSync(repo.dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const latency = await pushLatency();
console.log(
  `git push returned → execution exists: median ${median(latency).toFixed(0)} ms, max ${Math.max(...latency).toFixed(0)} ms (${latency.length} pushes: ${latency.map((x) => x.toFixed(0)).join(', ')})`,
);
const t = await webhookThroughput();
console.log(
  `engine throughput, 10 one-action runs, 2 at a time: no webhooks ${t.none.map((x) => x.toFixed(2)).join(' / ')} runs/s (median ${median(t.none).toFixed(2)}); five 2-s webhook targets ${t.slow.map((x) => x.toFixed(2)).join(' / ')} runs/s (median ${median(t.slow).toFixed(2)})`,
);
process.exit(0);
