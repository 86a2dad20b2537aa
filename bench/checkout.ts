/**
 * Checkout cost: Gantry's checkout (git writes into a private staging directory, entries are moved in
 * through descriptor-pinned directories, issue 8) against the same-run baseline of plain
 * `git read-tree --reset -u` by path (what Gantry did before, and what a checkout costs with no protection),
 * on a small repository (10 files) and a larger one (2,000 files in 40 directories). Three cases per
 * repository: a fresh (clean) checkout, the same revision again with nothing changed (every run of a
 * pipeline that did not move), and a switch to a revision that changed 20 files.
 *
 *   node --import tsx bench/checkout.ts [--runs N]     (default 3; BENCH_RUNS works too)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkout } from '../src/repo/index.ts';
import { runGit } from '../src/repo/git-cli.ts';
import {
  benchRuns,
  median,
  ms,
  printJsonLine,
  printTable,
  ratio,
  round,
  startRun,
} from './support/report.ts';

const RUNS = benchRuns(3);
/** Repetitions of each case inside one run; the run's figure is their median. */
const REPEAT = 15;

const tmp = mkdtempSync(path.join(tmpdir(), 'gantry-bench-checkout-'));

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'b',
      GIT_AUTHOR_EMAIL: 'b@b',
      GIT_COMMITTER_NAME: 'b',
      GIT_COMMITTER_EMAIL: 'b@b',
    },
  }).trim();
}

/** A bare repository with two commits: `files` files in `dirs` directories, then 20 of them changed. */
function makeRepository(
  name: string,
  files: number,
  dirs: number,
): { mirror: string; shas: [string, string] } {
  const src = path.join(tmp, `${name}-src`);
  mkdirSync(src);
  git(src, 'init', '-q');
  for (let i = 0; i < files; i += 1) {
    const dir = path.join(src, `dir${i % dirs}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `file${i}.txt`), `content of file ${i}\n`.repeat(20));
  }
  git(src, 'add', '-A');
  git(src, 'commit', '-qm', 'one');
  const first = git(src, 'rev-parse', 'HEAD');
  for (let i = 0; i < Math.min(20, files); i += 1)
    writeFileSync(path.join(src, `dir${i % dirs}`, `file${i}.txt`), `changed ${i}\n`);
  git(src, 'commit', '-qam', 'two');
  const second = git(src, 'rev-parse', 'HEAD');
  const mirror = path.join(tmp, `${name}.git`);
  git(tmp, 'clone', '-q', '--bare', src, mirror);
  return { mirror, shas: [first, second] };
}

type Checkout = (mirror: string, sha: string, dir: string, clean: boolean) => Promise<void>;

const gantry: Checkout = (mirror, sha, dir, clean) =>
  checkout({
    mirrorPath: mirror,
    sha,
    workTree: path.join(dir, 'fs'),
    indexFile: path.join(dir, 'index'),
    clean,
  });

/** The baseline: git writes the work tree by path, as Gantry did before issue 8's fix. */
const readTree: Checkout = async (mirror, sha, dir, clean) => {
  const workTree = path.join(dir, 'fs');
  const indexFile = path.join(dir, 'git-index');
  if (clean) {
    // As before: a clean checkout first made sure the commit exists.
    await runGit(['--git-dir', mirror, 'cat-file', '-e', `${sha}^{commit}`]);
    rmSync(workTree, { recursive: true, force: true });
    rmSync(indexFile, { force: true });
  }
  mkdirSync(workTree, { recursive: true });
  await runGit(
    ['--git-dir', mirror, '--work-tree', workTree, 'read-tree', '--reset', '-u', `${sha}^{commit}`],
    {
      env: { GIT_INDEX_FILE: indexFile },
    },
  );
};

async function timed(task: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await task();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median times (ms) of the three cases for one way of checking out. */
async function measure(how: Checkout, mirror: string, shas: [string, string]): Promise<number[]> {
  const dir = mkdtempSync(path.join(tmp, 'pipeline-'));
  const fresh: number[] = [];
  const same: number[] = [];
  const switched: number[] = [];
  for (let i = 0; i < REPEAT; i += 1) {
    fresh.push(await timed(() => how(mirror, shas[0], dir, true)));
    same.push(await timed(() => how(mirror, shas[0], dir, false)));
    switched.push(await timed(() => how(mirror, shas[1], dir, false)));
  }
  rmSync(dir, { recursive: true, force: true });
  return [median(fresh), median(same), median(switched)];
}

const repositories = [
  { name: 'small (10 files)', ...makeRepository('small', 10, 2) },
  { name: 'large (2,000 files)', ...makeRepository('large', 2000, 40) },
];
const cases = ['fresh', 'same revision', 'switch (20 changed)'];
const results: Record<string, { gantry: number[]; readTree: number[] }> = {};
try {
  for (let run = 1; run <= RUNS; run += 1) {
    startRun('checkout', run, RUNS);
    for (const repo of repositories) {
      // Alternate the order between runs so neither side always gets the warmer cache.
      const pair =
        run % 2 === 1
          ? [await measure(gantry, repo.mirror, repo.shas), await measure(readTree, repo.mirror, repo.shas)]
          : [
              await measure(readTree, repo.mirror, repo.shas),
              await measure(gantry, repo.mirror, repo.shas),
            ].reverse();
      for (const [i, c] of cases.entries()) {
        const key = `${repo.name}: ${c}`;
        results[key] ??= { gantry: [], readTree: [] };
        results[key].gantry.push(pair[0]![i]!);
        results[key].readTree.push(pair[1]![i]!);
      }
    }
  }
  printTable(
    `Checkout, median of ${RUNS} runs (each the median of ${REPEAT})`,
    ['case', 'Gantry (pinned)', 'git read-tree -u (baseline)', 'ratio', 'per-run ratios'],
    Object.entries(results).map(([key, r]) => [
      key,
      ms(median(r.gantry)),
      ms(median(r.readTree)),
      ratio(median(r.gantry), median(r.readTree)),
      r.gantry.map((g, i) => ratio(g, r.readTree[i]!)).join(' '),
    ]),
  );
  printJsonLine(
    'checkout',
    Object.fromEntries(
      Object.entries(results).map(([key, r]) => [
        key,
        { gantry_ms: round(median(r.gantry)), read_tree_ms: round(median(r.readTree)) },
      ]),
    ),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
