/**
 * Remote workers. (1) Throughput: 40 queued three-action executions run by 1 worker against the same
 * 40 run by 2 workers (each worker runs one execution at a time, BENCH_WORKER_CONCURRENCY to change),
 * on one `gantry serve --no-local-worker`, alternating rounds so that drift in the machine's load hits
 * both alike. The two cases differ only by routing: the 1-worker pipeline is tagged "solo", a tag only
 * worker 1 holds. (2) Latency: POST .../executions → the first container starts (Docker's own event),
 * through a worker against a server's local runner, measured in the same run on an idle system.
 * (3) Wake-up across servers (PostgreSQL): two `gantry serve --no-local-worker` on one database, one
 * worker talking to server A; POST → first container start when the run is queued through server B
 * (the worker's claim at A must be woken by B's NOTIFY) against the same through A (woken in process),
 * interleaved. Needs TEST_POSTGRES_URL (`eval "$(bash scripts/setup-postgres.sh)"`), else it is skipped.
 *
 *   node --import tsx bench/workers.ts [throughput] [latency] [wake]     (default: all three)
 *
 * Both workers share this machine's Docker engine and CPUs (2 cores, shared with other work): a ratio
 * near 1 means the machine, not Gantry, is the limit. The load average is printed at the start and end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase, testPostgresUrl } from '../test/support/database.ts';
import { workerLabel } from '../test/support/workers.ts';
import { at } from './support/executions.ts';
import { busyboxAction, createBenchProject } from './support/fixtures.ts';
import { expectStatus, startGantryServer, type GantryServer } from './support/gantry-server.ts';
import { onInterrupt, removeContainersSync } from './support/interrupt-cleanup.ts';
import { RawDocker } from './support/raw-docker.ts';
import { median, ms, printJsonLine, printTable, progress, ratio, round, sec } from './support/report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXECUTIONS = Number(process.env.BENCH_EXECUTIONS ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const LATENCY_RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 1);
const FINAL = new Set(['SUCCESSFUL', 'FAILED', 'TERMINATED']);
const SECTIONS = process.argv.slice(2).length > 0 ? new Set(process.argv.slice(2)) : null;
const wanted = (section: string): boolean => SECTIONS === null || SECTIONS.has(section);

interface Worker {
  child: ChildProcess;
  label: string;
  stop(): Promise<void>;
}

async function startWorker(server: GantryServer, name: string, tags: string[]): Promise<Worker> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `gantry-bench-${name}-`));
  const label = workerLabel(name, dataDir);
  const child = spawn(
    process.execPath,
    [
      'bin/gantry.js',
      'worker',
      '--server',
      server.baseUrl,
      '--name',
      name,
      '--tags',
      tags.join(','),
      '--concurrency',
      String(CONCURRENCY),
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GANTRY_WORKER_TOKEN: server.token },
    },
  );
  const forget = onInterrupt(() => {
    child.kill('SIGKILL');
    removeContainersSync(`gantry.instance=${label}`);
    rmSync(dataDir, { recursive: true, force: true });
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('is running')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}:\n${out}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    label,
    async stop() {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      rmSync(dataDir, { recursive: true, force: true });
      forget();
    },
  };
}

async function pipeline(
  server: GantryServer,
  projectPath: string,
  name: string,
  fields: Record<string, unknown>,
  actions: number,
): Promise<string> {
  const p = expectStatus(
    await server.request('POST', `${projectPath}/pipelines`, { name, ...fields }),
    201,
    `create pipeline ${name}`,
  );
  const pipelinePath = `${projectPath}/pipelines/${p.id}`;
  for (let i = 0; i < actions; i++)
    expectStatus(
      await server.request('POST', `${pipelinePath}/actions`, busyboxAction(`a${i + 1}`)),
      201,
      'create action',
    );
  return pipelinePath;
}

/** Queues `EXECUTIONS` runs at once and waits for all of them; returns first POST → last final status. */
async function batch(
  server: GantryServer,
  pipelinePath: string,
): Promise<{ wallMs: number; workers: string[] }> {
  const start = Date.now();
  const ids: number[] = [];
  for (let i = 0; i < EXECUTIONS; i++)
    ids.push(expectStatus(await server.request('POST', `${pipelinePath}/executions`, {}), 200, 'run').id);
  let last: any[] = [];
  for (;;) {
    const page = await server.request('GET', `${pipelinePath}/executions?per_page=100`);
    last = (page.body.executions as any[]).filter((e) => ids.includes(e.id));
    if (last.length === ids.length && last.every((e) => FINAL.has(e.status))) break;
    await sleep(200);
  }
  const failed = last.filter((e) => e.status !== 'SUCCESSFUL');
  if (failed.length > 0) throw new Error(`${failed.length} executions did not succeed`);
  const finish = Math.max(...last.map((e) => at(e.finish_date)));
  const detail = await Promise.all(
    ids.map(
      async (id) => (await server.request('GET', `${pipelinePath}/executions/${id}`)).body.worker as string,
    ),
  );
  return { wallMs: finish - start, workers: detail };
}

/** POST → the first container start seen by `watch` (Docker's own event), after the servers idled a second. */
async function firstStart(
  server: GantryServer,
  pipelinePath: string,
  watch: Awaited<ReturnType<RawDocker['watchEvents']>>,
): Promise<number> {
  await sleep(1000);
  const posted = Date.now();
  const id = expectStatus(await server.request('POST', `${pipelinePath}/executions`, {}), 200, 'run').id;
  const started = await watch.next(
    (e) => e.action === 'start' && e.labels['gantry.execution'] === String(id),
    120_000,
  );
  for (;;) {
    const e = (await server.request('GET', `${pipelinePath}/executions/${id}`)).body;
    if (FINAL.has(e.status)) break;
    await sleep(100);
  }
  return started.atMs - posted;
}

/** (1) and (2): one server with two workers, and a server with its local runner. */
async function throughputAndLatency(results: Record<string, unknown>): Promise<void> {
  const remote = await startGantryServer({ serveArgs: ['--no-local-worker'] });
  const local = await startGantryServer();
  const raw = new RawDocker();
  const workers: Worker[] = [];
  try {
    const { projectPath, removeRepo } = await createBenchProject(remote);
    const localProject = await createBenchProject(local);
    workers.push(await startWorker(remote, 'bench-1', ['solo']));
    workers.push(await startWorker(remote, 'bench-2', []));

    if (wanted('throughput')) {
      const solo = await pipeline(
        remote,
        projectPath,
        'one-worker',
        { tags: ['solo'], concurrent_pipeline_runs: true },
        3,
      );
      const both = await pipeline(remote, projectPath, 'two-workers', { concurrent_pipeline_runs: true }, 3);
      // Alternating rounds.
      const one: number[] = [];
      const two: number[] = [];
      const spread: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        progress(`round ${round + 1}/${ROUNDS}: ${EXECUTIONS} executions on 1 worker`);
        one.push((await batch(remote, solo)).wallMs);
        progress(`round ${round + 1}/${ROUNDS}: ${EXECUTIONS} executions on 2 workers`);
        const b = await batch(remote, both);
        two.push(b.wallMs);
        const counts = new Map<string, number>();
        for (const w of b.workers) counts.set(w, (counts.get(w) ?? 0) + 1);
        spread.push([...counts].map(([w, n]) => `${w}: ${n}`).join(', '));
      }
      printTable(
        `${EXECUTIONS} queued three-action executions (worker concurrency ${CONCURRENCY})`,
        ['round', '1 worker', '2 workers', '1 / 2', 'split over the 2 workers'],
        one.map((o, i) => [String(i + 1), sec(o), sec(two[i]!), ratio(o, two[i]!), spread[i]!]),
      );
      Object.assign(results, {
        executions: EXECUTIONS,
        workerConcurrency: CONCURRENCY,
        oneWorkerMs: one,
        twoWorkersMs: two,
        ratioOneOverTwo: round(median(one) / median(two), 2),
      });
    }

    if (wanted('latency')) {
      // POST → first container start, worker against local runner, interleaved on idle servers.
      const viaWorker = await pipeline(remote, projectPath, 'latency-worker', { worker: 'bench-2' }, 1);
      const viaLocal = await pipeline(local, localProject.projectPath, 'latency-local', {}, 1);
      const workerWatch = await raw.watchEvents(`gantry.instance=${workers[1]!.label}`);
      const localWatch = await raw.watchEvents(`gantry.instance=${local.instanceLabel}`);
      const w: number[] = [];
      const l: number[] = [];
      for (let i = 0; i < LATENCY_RUNS; i++) {
        progress(`latency ${i + 1}/${LATENCY_RUNS}`);
        w.push(await firstStart(remote, viaWorker, workerWatch));
        l.push(await firstStart(local, viaLocal, localWatch));
      }
      workerWatch.close();
      localWatch.close();
      printTable(
        `POST → first container start (median of ${LATENCY_RUNS}, idle)`,
        ['runner', 'median', 'min', 'max', 'vs local'],
        [
          [
            'remote worker',
            ms(median(w)),
            ms(Math.min(...w)),
            ms(Math.max(...w)),
            ratio(median(w), median(l)),
          ],
          ['local runner', ms(median(l)), ms(Math.min(...l)), ms(Math.max(...l)), '1.00×'],
        ],
      );
      Object.assign(results, {
        postToFirstStartWorkerMs: round(median(w), 1),
        postToFirstStartLocalMs: round(median(l), 1),
      });
    }
    removeRepo();
    localProject.removeRepo();
  } finally {
    for (const w of workers) await w.stop();
    await remote.stop();
    await local.stop();
  }
}

/**
 * (3) Two servers on one PostgreSQL, a worker talking to A only: POST through B (A's waiting claim is
 * woken by B's NOTIFY, or finds the run at its next look at the queue) against POST through A.
 */
async function crossServerWake(results: Record<string, unknown>): Promise<void> {
  if (!testPostgresUrl()) {
    progress('wake-up across servers skipped: needs PostgreSQL (eval "$(bash scripts/setup-postgres.sh)")');
    return;
  }
  const database = await createPostgresDatabase();
  const shared = { GANTRY_DATABASE_URL: database.url, GANTRY_ALLOWED_REPOSITORY_ROOTS: tmpdir() };
  const a = await startGantryServer({ serveArgs: ['--no-local-worker'], env: shared });
  const b = await startGantryServer({
    serveArgs: ['--no-local-worker'],
    env: { ...shared, GANTRY_SECRET_KEY_FILE: path.join(a.dataDir, 'secret.key') },
    token: a.token,
  });
  const raw = new RawDocker();
  let worker: Worker | null = null;
  try {
    // A repository outside Gantry: each server fetches it into its own mirror.
    const { projectPath, removeRepo } = await createBenchProject(a, { outside: true });
    worker = await startWorker(a, 'bench-wake', []);
    const pipelinePath = await pipeline(a, projectPath, 'wake', { worker: 'bench-wake' }, 1);
    const watch = await raw.watchEvents(`gantry.instance=${worker.label}`);
    const viaA: number[] = [];
    const viaB: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      progress(`wake-up ${i + 1}/${LATENCY_RUNS}`);
      viaB.push(await firstStart(b, pipelinePath, watch));
      viaA.push(await firstStart(a, pipelinePath, watch));
    }
    watch.close();
    printTable(
      `POST → first container start on a worker talking to server A (PostgreSQL, median of ${LATENCY_RUNS}, idle)`,
      ['run queued through', 'median', 'min', 'max', 'vs server A'],
      [
        [
          'server B',
          ms(median(viaB)),
          ms(Math.min(...viaB)),
          ms(Math.max(...viaB)),
          ratio(median(viaB), median(viaA)),
        ],
        ['server A (baseline)', ms(median(viaA)), ms(Math.min(...viaA)), ms(Math.max(...viaA)), '1.00×'],
      ],
    );
    Object.assign(results, {
      crossServerPostToStartMs: viaB,
      sameServerPostToStartMs: viaA,
      crossServerMedianMs: round(median(viaB), 1),
      sameServerMedianMs: round(median(viaA), 1),
    });
    removeRepo();
  } finally {
    await worker?.stop();
    await b.stop();
    await a.stop();
    await database.drop();
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((l) => round(l, 2));
  progress(`load average at start: ${loadAtStart.join(' ')} on ${cpus().length} CPUs`);
  const results: Record<string, unknown> = {};
  if (wanted('throughput') || wanted('latency')) await throughputAndLatency(results);
  if (wanted('wake')) await crossServerWake(results);
  const loadAtEnd = loadavg().map((x) => round(x, 2));
  process.stdout.write(
    `\nload average: ${loadAtStart.join(' ')} at start, ${loadAtEnd.join(' ')} at end (${cpus().length} CPUs)\n`,
  );
  printJsonLine('workers', { ...results, loadAtStart, loadAtEnd });
}

await main();
