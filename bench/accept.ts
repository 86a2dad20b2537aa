/**
 * Run-accept latency and throughput: POST .../executions on a hosted repository (pushed to Gantry over
 * git's smart HTTP), against the same Fastify app answering GET .../executions/:id for a stored execution
 * (same authentication, pipeline lookup and presenter, nothing created, no git). Executions are posted with
 * a `delay_until` a day ahead, so the queue holds them and no container runs while accepting is measured.
 *
 * One client sequentially, then 10 concurrent clients; Gantry and baseline are measured in alternating
 * blocks so drift in the machine's load hits both alike. CPU time of the server (with the git processes
 * it waited for) per request is the measure least disturbed by other load. Three rounds, each printing
 * the load average at its start. Also times the first accept after a push (which has to read the new
 * refs) and checks that it runs the pushed commit.
 *
 *   node --import tsx bench/accept.ts [--runs N]     (rounds; default 3)
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { rmSync } from 'node:fs';
import { git, makeRepo } from '../test/support/harness.ts';
import { busyboxAction, createPipelineWithActions } from './support/fixtures.ts';
import { expectStatus, startGantryServer } from './support/gantry-server.ts';
import { onInterrupt } from './support/interrupt-cleanup.ts';
import {
  benchRuns,
  announceBench,
  median,
  ms,
  printJsonLine,
  printTable,
  progress,
  ratio,
  round,
  startRun,
} from './support/report.ts';
import { cpuTimeWithChildrenOf } from './support/process-sampler.ts';

/** Rounds (runs): `--runs N`, BENCH_RUNS, or the older BENCH_ROUNDS. */
const ROUNDS = benchRuns(Number(process.env.BENCH_ROUNDS ?? 3));
/** Requests per block; blocks alternate Gantry / baseline. */
const BLOCK = 50;
const BLOCKS = 4;
const CLIENTS = 10;
const WARMUP = 50;

interface Side {
  latencies: number[];
  wallMs: number;
  cpuMs: number;
  requests: number;
}

const emptySide = (): Side => ({ latencies: [], wallMs: 0, cpuMs: 0, requests: 0 });

/** Percentile (0–100) of a list, nearest rank. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  announceBench('bench/accept', `, ${ROUNDS} rounds`);
  const server = await startGantryServer();
  const { dir: localRepo } = makeRepo([{ message: 'Initial commit', files: { 'README.md': '# bench\n' } }]);
  const forget = onInterrupt(() => rmSync(localRepo, { recursive: true, force: true }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const base = new URL(server.baseUrl);

  /** One request over a kept-alive connection; resolves with its latency (ms) and parsed body. */
  const call = (
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ ms: number; status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const t0 = performance.now();
      const req = http.request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path: url,
          headers: {
            authorization: `Bearer ${server.token}`,
            ...(data !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const elapsed = performance.now() - t0;
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ ms: elapsed, status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });

  try {
    expectStatus(
      await server.request('POST', '/api/workspaces', { name: 'Bench', domain: 'bench' }),
      201,
      'create workspace',
    );
    const project = expectStatus(
      await server.request('POST', '/api/workspaces/bench/projects', {
        display_name: 'bench',
        name: 'bench',
      }),
      201,
      'create project',
    );
    const pushUrl = new URL(project.http_repository as string);
    pushUrl.username = 'x';
    pushUrl.password = server.token;
    const push = (): void => {
      git(localRepo, 'push', '-q', '--force', pushUrl.toString(), 'HEAD:master');
    };
    push();
    const { pipelinePath } = await createPipelineWithActions(
      server,
      '/api/workspaces/bench/projects/bench',
      'Accept',
      [busyboxAction('never runs')],
    );
    const runBody = {
      delay_until: new Date(Date.now() + 86_400_000).toISOString(),
      to_revision: { revision: 'HEAD' },
    };
    const stored = expectStatus(await call('POST', `${pipelinePath}/executions`, runBody), 200, 'run');
    const storedUrl = `${pipelinePath}/executions/${stored.id}`;
    const accept = async (): Promise<number> => {
      const r = await call('POST', `${pipelinePath}/executions`, runBody);
      if (r.status !== 200) throw new Error(`accept: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      return r.ms;
    };
    const baseline = async (): Promise<number> => {
      const r = await call('GET', storedUrl);
      if (r.status !== 200) throw new Error(`baseline: HTTP ${r.status}`);
      return r.ms;
    };

    /** `count` requests with `clients` concurrent clients, added to `side`. */
    const measure = async (side: Side, fn: () => Promise<number>, count: number, clients: number) => {
      let left = count;
      const cpu0 = cpuTimeWithChildrenOf(server.pid)!;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (left > 0) {
            left -= 1;
            side.latencies.push(await fn());
          }
        }),
      );
      side.wallMs += performance.now() - t0;
      side.cpuMs += cpuTimeWithChildrenOf(server.pid)! - cpu0;
      side.requests += count;
    };

    progress(`warm-up: ${WARMUP} accepts and ${WARMUP} baseline requests`);
    for (let i = 0; i < WARMUP; i += 1) {
      await accept();
      await baseline();
    }

    const rounds: {
      load: number[];
      seq: { gantry: Side; base: Side };
      conc: { gantry: Side; base: Side };
      afterPush: number[];
      pushedOk: boolean;
    }[] = [];
    for (let r = 1; r <= ROUNDS; r += 1) {
      const load = startRun('bench/accept', r, ROUNDS);
      const seq = { gantry: emptySide(), base: emptySide() };
      const conc = { gantry: emptySide(), base: emptySide() };
      for (let b = 0; b < BLOCKS; b += 1) {
        progress(`round ${r}, block ${b + 1}/${BLOCKS}: sequential`);
        // Alternate which side goes first, so neither always follows the other's garbage collection.
        const order = b % 2 === 0 ? (['gantry', 'base'] as const) : (['base', 'gantry'] as const);
        for (const which of order)
          await measure(seq[which], which === 'gantry' ? accept : baseline, BLOCK, 1);
        progress(`round ${r}, block ${b + 1}/${BLOCKS}: ${CLIENTS} clients`);
        for (const which of order)
          await measure(conc[which], which === 'gantry' ? accept : baseline, BLOCK * 2, CLIENTS);
      }
      // A push, then at once a run at HEAD: must be the new commit; its latency includes reading the new refs.
      const afterPush: number[] = [];
      let pushedOk = true;
      for (let i = 0; i < 5; i += 1) {
        git(localRepo, 'commit', '-q', '--allow-empty', '-m', `bench ${r}.${i}`);
        const sha = git(localRepo, 'rev-parse', 'HEAD');
        push();
        const t = await call('POST', `${pipelinePath}/executions`, runBody);
        afterPush.push(t.ms);
        if (t.body?.to_revision?.revision !== sha) pushedOk = false;
      }
      rounds.push({ load, seq, conc, afterPush, pushedOk });
    }

    const rows: (string | number)[][] = [];
    const summary = rounds.map((rd, i) => {
      const line = (label: string, g: Side, b: Side) => {
        const gp50 = median(g.latencies);
        const bp50 = median(b.latencies);
        const gRate = (g.requests / g.wallMs) * 1000;
        const bRate = (b.requests / b.wallMs) * 1000;
        rows.push(
          [
            `${i + 1} (load ${rd.load[0]})`,
            label,
            'POST accept',
            ms(gp50),
            ms(percentile(g.latencies, 90)),
            Math.round(gRate),
            ms(g.cpuMs / g.requests),
          ],
          [
            '',
            '',
            'GET stored (baseline)',
            ms(bp50),
            ms(percentile(b.latencies, 90)),
            Math.round(bRate),
            ms(b.cpuMs / b.requests),
          ],
          [
            '',
            '',
            'accept / baseline',
            ratio(gp50, bp50),
            '',
            ratio(bRate, gRate),
            ratio(g.cpuMs / g.requests, b.cpuMs / b.requests),
          ],
        );
        return {
          accept_p50_ms: round(gp50, 3),
          accept_p90_ms: round(percentile(g.latencies, 90), 3),
          accept_per_s: round(gRate, 1),
          accept_cpu_ms: round(g.cpuMs / g.requests, 3),
          baseline_p50_ms: round(bp50, 3),
          baseline_per_s: round(bRate, 1),
          baseline_cpu_ms: round(b.cpuMs / b.requests, 3),
          ratio_p50: round(gp50 / bp50, 3),
          ratio_cpu: round(g.cpuMs / g.requests / (b.cpuMs / b.requests), 3),
        };
      };
      return {
        load_average_at_start: rd.load,
        sequential: line('1 client', rd.seq.gantry, rd.seq.base),
        concurrent: line(`${CLIENTS} clients`, rd.conc.gantry, rd.conc.base),
        first_accept_after_push_ms: rd.afterPush.map((v) => round(v, 2)),
        after_push_runs_pushed_commit: rd.pushedOk,
      };
    });
    printTable(
      `Accepting a run: ${BLOCKS} alternating blocks per round (${BLOCK} sequential, ${BLOCK * 2} with ${CLIENTS} clients)`,
      ['round', 'clients', 'request', 'p50', 'p90', 'per s', 'server CPU/req (incl. git)'],
      rows,
    );
    printTable(
      'First accept right after a push (5 per round; must run the pushed commit)',
      ['round', 'latencies', 'ran the pushed commit'],
      rounds.map((rd, i) => [
        String(i + 1),
        rd.afterPush.map((v) => ms(v)).join(', '),
        rd.pushedOk ? 'yes' : 'NO',
      ]),
    );
    const mid = (pick: (r: (typeof summary)[number]) => number): number => median(summary.map(pick));
    const medians = {
      sequential_p50_ms: round(
        mid((r) => r.sequential.accept_p50_ms),
        3,
      ),
      sequential_per_s: round(
        mid((r) => r.sequential.accept_per_s),
        1,
      ),
      sequential_ratio_p50: round(
        mid((r) => r.sequential.ratio_p50),
        3,
      ),
      concurrent_p50_ms: round(
        mid((r) => r.concurrent.accept_p50_ms),
        3,
      ),
      concurrent_per_s: round(
        mid((r) => r.concurrent.accept_per_s),
        1,
      ),
      concurrent_ratio_p50: round(
        mid((r) => r.concurrent.ratio_p50),
        3,
      ),
      first_accept_after_push_ms: round(median(summary.flatMap((r) => r.first_accept_after_push_ms)), 2),
    };
    printTable(
      `Median of the ${ROUNDS} rounds (targets: ≤ 10 ms median, ≥ 100 accepted runs/s)`,
      ['measure', 'value'],
      [
        ['accept p50, 1 client', ms(medians.sequential_p50_ms)],
        ['accepted runs/s, 1 client', medians.sequential_per_s],
        ['accept p50 / baseline p50, 1 client', `${medians.sequential_ratio_p50.toFixed(2)}×`],
        [`accept p50, ${CLIENTS} clients`, ms(medians.concurrent_p50_ms)],
        [`accepted runs/s, ${CLIENTS} clients`, medians.concurrent_per_s],
        ['first accept right after a push', ms(medians.first_accept_after_push_ms)],
      ],
    );
    printJsonLine('accept', { rounds: summary, median_of_rounds: medians });
  } finally {
    agent.destroy();
    await server.stop();
    rmSync(localRepo, { recursive: true, force: true });
    forget();
  }
}

// Keep the git helpers honest about which binary they run.
execFileSync('git', ['--version']);
await main();
