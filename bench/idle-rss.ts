/**
 * Idle resident memory of the compiled server, started as `scripts/start.sh` starts it (node with the
 * options on bin/gantry.js's #! line, `bin/gantry.js serve`, default log level), on a fresh temporary
 * data directory and a free loopback port, measured after it has sat idle for a while (15 s by default).
 * Issue 11's target: VmRSS <= 120 MB.
 *
 * Each run starts, in turn, two baselines and then the server(s), so load that comes and goes hits all
 * alike: `node` doing nothing, and a bare Fastify hello-world (same node options). Read the server's
 * numbers against them: what is above the Fastify baseline is Gantry's own.
 *
 * Per process: VmRSS, RssAnon (heap, malloc arenas, code V8 generated), RssFile (the node binary and
 * the native modules' pages), threads (/proc/<pid>/status); V8's used heap (the server's /metrics,
 * read after /proc so the scrape does not count); start-up time, spawn to "Gantry is running.".
 *
 *   node --import tsx bench/idle-rss.ts [--runs N] [--idle S] [--against <checkout>...]
 *
 * `--against` adds other checkouts (their own compiled dist/) measured in the same rounds, for an A/B of
 * two builds. A checkout whose dist/ is missing or older than its src/ is built first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/harness.ts';
import { productionNodeArgs, serveCommand } from './support/gantry-server.ts';
import { onInterrupt } from './support/interrupt-cleanup.ts';
import {
  announceBench,
  benchRuns,
  median,
  mib,
  ms,
  printJsonLine,
  printTable,
  progress,
  startRun,
} from './support/report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1000 * 1000;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function optionList(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === name && process.argv[i + 1]) out.push(path.resolve(process.argv[i + 1]!));
  });
  return out;
}

const RUNS = benchRuns(5);
const IDLE_SECONDS = option('--idle', 15);
const CHECKOUTS = [ROOT, ...optionList('--against')];

interface Sample {
  vmRss: number;
  rssAnon: number;
  rssFile: number;
  threads: number;
  heapUsed: number;
  startMs: number;
}

function status(pid: number): Pick<Sample, 'vmRss' | 'rssAnon' | 'rssFile' | 'threads'> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)![1]) * 1024;
  return {
    vmRss: kb('VmRSS'),
    rssAnon: kb('RssAnon'),
    rssFile: kb('RssFile'),
    threads: Number(/^Threads:\s+(\d+)/m.exec(text)![1]),
  };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'web') newest = Math.max(newest, newestSource(full));
    } else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function ensureBuilt(root: string): void {
  const built = path.join(root, 'dist/server.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(path.join(root, 'src'))) return;
  progress(`building ${root} (npm run build)`);
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed in ${root}`);
}

/** Resolves when `marker` appears on the child's stdout; its time since spawn, in ms. */
function waitFor(child: ChildProcess, marker: string, started: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no "${marker}" within 120 s:\n${out}${err}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (out.includes(marker)) return;
      out += d.toString();
      if (out.includes(marker)) {
        clearTimeout(timer);
        resolve(performance.now() - started);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "${marker}":\n${out}${err}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

const sleep = (s: number): Promise<void> => new Promise((r) => setTimeout(r, s * 1000));

/** A baseline: a node script with the same node options, printing "ready", its heap on SIGUSR2. */
async function measureBaseline(script: string, nodeArgs: string[]): Promise<Sample> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, '--input-type=module', '-e', script, String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forget = onInterrupt(() => child.kill('SIGKILL'));
  try {
    const startMs = await waitFor(child, 'ready', started);
    await sleep(IDLE_SECONDS);
    const proc = status(child.pid!);
    const heap = new Promise<number>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => {
        const m = /heap (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      }),
    );
    child.kill('SIGUSR2');
    return { ...proc, heapUsed: await heap, startMs };
  } finally {
    await stop(child);
    forget();
  }
}

const REPORT_HEAP = `process.on('SIGUSR2', () => process.stdout.write('heap ' + process.memoryUsage().heapUsed + '\\n'));`;
const IDLE_NODE = `${REPORT_HEAP} setInterval(() => {}, 1 << 30); process.stdout.write('ready\\n');`;
const HELLO_FASTIFY = `${REPORT_HEAP}
import Fastify from 'fastify';
const app = Fastify({ logger: true });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv.at(-1)) });
process.stdout.write('ready\\n');`;

async function measureGantry(root: string): Promise<Sample> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-idle-rss-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    serveCommand(root, dataDir, port),
    // No nosuid mount of the pipelines directory (it needs root and would outlive a killed bench).
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GANTRY_NOSUID_PIPELINES: 'false' },
    },
  );
  const forget = onInterrupt(() => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  try {
    const startMs = await waitFor(child, 'Gantry is running.', started);
    child.stdout!.resume();
    child.stderr!.resume();
    await sleep(IDLE_SECONDS);
    const proc = status(child.pid!);
    const token = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    }).then((r) => r.text());
    const heap = /^nodejs_heap_size_used_bytes (\d+)/m.exec(metrics);
    return { ...proc, heapUsed: heap ? Number(heap[1]) : Number.NaN, startMs };
  } finally {
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
    forget();
  }
}

const load = announceBench(
  'idle-rss',
  `, ${RUNS} runs, ${IDLE_SECONDS} s idle, node ${process.version}, node options ${productionNodeArgs(ROOT).join(' ')}`,
);
for (const root of CHECKOUTS) ensureBuilt(root);

const names = [
  'node (idle)',
  'fastify hello-world',
  ...CHECKOUTS.map((r) => `gantry ${path.relative(ROOT, r) || '.'}`),
];
const samples = new Map<string, Sample[]>(names.map((n) => [n, []]));
for (let run = 1; run <= RUNS; run += 1) {
  startRun('idle-rss', run, RUNS);
  const nodeArgs = productionNodeArgs(ROOT);
  progress('node idle');
  samples.get(names[0]!)!.push(await measureBaseline(IDLE_NODE, nodeArgs));
  progress('fastify hello-world');
  samples.get(names[1]!)!.push(await measureBaseline(HELLO_FASTIFY, nodeArgs));
  for (const [i, root] of CHECKOUTS.entries()) {
    progress(`gantry serve (${root})`);
    samples.get(names[2 + i]!)!.push(await measureGantry(root));
  }
}

const med = (name: string, key: keyof Sample): number => median(samples.get(name)!.map((s) => s[key]));
printTable(
  `Idle memory after ${IDLE_SECONDS} s, median of ${RUNS} starts (MiB; VmRSS range in brackets)`,
  ['process', 'VmRSS', 'range', 'RssAnon', 'RssFile', 'V8 heap used', 'threads', 'start-up'],
  names.map((n) => {
    const rss = samples.get(n)!.map((s) => s.vmRss);
    return [
      n,
      mib(med(n, 'vmRss')),
      `${(Math.min(...rss) / 2 ** 20).toFixed(1)}–${(Math.max(...rss) / 2 ** 20).toFixed(1)}`,
      mib(med(n, 'rssAnon')),
      mib(med(n, 'rssFile')),
      mib(med(n, 'heapUsed')),
      med(n, 'threads'),
      ms(med(n, 'startMs')),
    ];
  }),
);
const gantry = names[2]!;
process.stdout.write(
  `\nissue 11 target: idle VmRSS <= 120 MB; measured ${(med(gantry, 'vmRss') / MB).toFixed(1)} MB (${mib(med(gantry, 'vmRss'))}), ` +
    `${mib(med(gantry, 'vmRss') - med(names[1]!, 'vmRss'))} above the Fastify hello-world of the same run\n`,
);
printJsonLine('idle-rss', {
  load,
  runs: RUNS,
  idleSeconds: IDLE_SECONDS,
  results: Object.fromEntries(
    names.map((n) => [
      n,
      {
        vmRssMiB: +(med(n, 'vmRss') / 2 ** 20).toFixed(1),
        rssAnonMiB: +(med(n, 'rssAnon') / 2 ** 20).toFixed(1),
        rssFileMiB: +(med(n, 'rssFile') / 2 ** 20).toFixed(1),
        heapUsedMiB: +(med(n, 'heapUsed') / 2 ** 20).toFixed(1),
        startMs: Math.round(med(n, 'startMs')),
      },
    ]),
  ),
});
