/**
 * Runs test files side by side, each in its own `node --test` process, and prints each file's output in
 * one piece when it ends (never interleaved with another file's), then a summary: per pass the counts,
 * the slowest files, and every failing test with its file and line. Exit status 1 when anything failed.
 *
 *   node --import tsx scripts/run-tests.ts [--slots N] [--times FILE] \
 *     --pass sqlite FILES... [--pass postgres FILES...]
 *
 * A pass named `postgres` runs its files with TEST_DATABASE=postgres. Slots: how many files run at once;
 * a heavy file (see HEAVY) takes one and a half. Files start longest first (see SLOW_FIRST), so that the long ones
 * do not end up running alone at the end. --times appends "seconds<TAB>pass<TAB>file" per file.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Files that keep much of the machine busy on their own: several server or worker processes, a busy
 * swapping loop in a container, or a browser. Each takes one and a half slots: with four
 * slots, two of them run with one light file beside them, or one with two light files (a 2-core
 * machine is not overloaded into timeouts, and light files are not held back while heavy ones run).
 */
const HEAVY = [
  /^test\/browser\//,
  /^test\/scaling\//,
  /^test\/workers\/remote-workers/,
  /^test\/integration\/(checkout-race|symlink-race|crash-restart)/,
  // Its cancel-during-setup test polls the API with no delay, keeping a core busy for a while.
  /^test\/integration\/cancel\.test/,
];

/**
 * The longest files, measured (scripts/test.sh prints the slowest files at its end): started first.
 * Anything not listed starts after them, in the order given. A stale entry only costs a little time.
 */
const SLOW_FIRST = [
  'test/browser/web-ui.test.ts',
  'test/integration/symlink-race.test.ts',
  'test/integration/checkout-race.test.ts',
  'test/scaling/workers-two-servers.test.ts',
  'test/scaling/local-lease.test.ts',
  'test/scaling/two-servers-postgres.test.ts',
  'test/workers/remote-workers.test.ts',
  'test/api/permission-matrix.test.ts',
  'test/integration/cancel.test.ts',
  'test/integration/crash-restart.test.ts',
  'test/api/approval-gate.test.ts',
  'test/integration/action-flow.test.ts',
  'test/api/teams.test.ts',
];

interface Job {
  pass: string;
  file: string;
  weight: number;
}

interface Result {
  job: Job;
  seconds: number;
  code: number | null;
  summary: Summary;
}

/** What test/support/summary-reporter.mjs writes. */
interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  failures: { file: string; line?: number; names: string[]; message: string }[];
}

function parseArgs(argv: string[]): { slots: number; times: string | null; jobs: Job[] } {
  let slots = 3;
  let times: string | null = null;
  let pass: string | null = null;
  const jobs: Job[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--slots') slots = Number(argv[++i]);
    else if (arg === '--times') times = argv[++i] ?? null;
    else if (arg === '--pass') pass = argv[++i] ?? null;
    else if (pass === null) throw new Error(`run-tests: ${arg} comes before any --pass`);
    else {
      const file = path.relative(process.cwd(), path.resolve(arg));
      jobs.push({ pass, file, weight: HEAVY.some((re) => re.test(file)) ? 1.5 : 1 });
    }
  }
  if (!Number.isInteger(slots) || slots < 2) throw new Error('run-tests: --slots takes a whole number >= 2');
  const rank = (j: Job): number => {
    const at = SLOW_FIRST.indexOf(j.file);
    return at < 0 ? SLOW_FIRST.length : at;
  };
  // Stable: equal ranks keep the order given (passes in turn, files as listed).
  jobs.sort((a, b) => rank(a) - rank(b));
  return { slots, times, jobs };
}

const dir = mkdtempSync(path.join(tmpdir(), 'gantry-run-tests-'));
let counter = 0;

function run(job: Job): Promise<Result> {
  const summaryFile = path.join(dir, `summary-${(counter += 1)}.json`);
  const args = [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./test/support/summary-reporter.mjs',
    `--test-reporter-destination=${summaryFile}`,
    job.file,
  ];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (job.pass === 'postgres') env.TEST_DATABASE = 'postgres';
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let summary: Summary;
      try {
        summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary;
      } catch {
        summary = { passed: 0, failed: 0, skipped: 0, failures: [] };
      }
      if (code !== 0 && summary.failures.length === 0) {
        summary.failed += 1;
        summary.failures.push({
          file: job.file,
          names: [`(the file as a whole: exit status ${code}; see its output)`],
          message: 'no test failed, yet the file did not pass',
        });
      }
      const mark = code === 0 ? 'ok' : 'FAILED';
      process.stdout.write(
        `\n──── ${job.file} [${job.pass}] ${mark} in ${seconds.toFixed(1)} s\n` +
          Buffer.concat(chunks).toString('utf8'),
      );
      resolve({ job, seconds, code, summary });
    });
  });
}

async function main(): Promise<number> {
  const { slots, times, jobs } = parseArgs(process.argv.slice(2));
  const results: Result[] = [];
  const pending = [...jobs];
  let free = slots;
  await new Promise<void>((done) => {
    const startMore = (): void => {
      // The first pending job that fits; a heavy job waits for room, lighter ones go around it.
      for (let i = 0; i < pending.length;) {
        const job = pending[i]!;
        if (job.weight > free) {
          i += 1;
          continue;
        }
        pending.splice(i, 1);
        free -= job.weight;
        void run(job).then((result) => {
          results.push(result);
          free += job.weight;
          if (results.length === jobs.length) done();
          else startMore();
        });
      }
    };
    if (jobs.length === 0) done();
    else startMore();
  });
  rmSync(dir, { recursive: true, force: true });

  if (times)
    for (const r of results) appendFileSync(times, `${r.seconds.toFixed(1)}\t${r.job.pass}\t${r.job.file}\n`);
  let out = '\n==== test summary\n';
  for (const pass of [...new Set(jobs.map((j) => j.pass))]) {
    const mine = results.filter((r) => r.job.pass === pass);
    const sum = (key: 'passed' | 'failed' | 'skipped'): number =>
      mine.reduce((n, r) => n + r.summary[key], 0);
    out += `${pass}: ${mine.length} files, ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`;
  }
  out += 'slowest files (seconds, wall time while others ran beside them):\n';
  for (const r of [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 15))
    out += `  ${r.seconds.toFixed(1).padStart(6)}  ${r.job.file} [${r.job.pass}]\n`;
  const failures = results.flatMap((r) => r.summary.failures.map((f) => ({ ...f, pass: r.job.pass })));
  if (failures.length > 0) {
    out += `\nFAILED TESTS (${failures.length}):\n`;
    for (const f of failures) {
      out += `  ✖ ${f.file}${f.line !== undefined ? `:${f.line}` : ''} [${f.pass}]\n`;
      out += `      ${f.names.join(' > ')}\n      ${f.message.split('\n').join('\n      ')}\n`;
    }
  }
  process.stdout.write(out);
  return results.every((r) => r.code === 0) ? 0 : 1;
}

process.exitCode = await main();
