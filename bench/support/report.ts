import { cpus, loadavg } from 'node:os';

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const ms = (v: number): string =>
  Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ms` : 'n/a';
export const sec = (v: number): string => (Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : 'n/a');
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const ratio = (a: number, b: number): string =>
  b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : 'n/a';
export const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Prints a titled table with columns padded to their widest cell (numbers right-aligned). */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  // A column is numeric when every non-empty cell is a number with an optional unit ("12.5 ms", "1.05×").
  const numeric = header.map((_, i) => {
    const filled = rows.map((r) => String(r[i] ?? '')).filter((c) => c !== '');
    return filled.length > 0 && filled.every((c) => /^[-\d.,]+( ?[a-zA-Z×%/]+)?$/.test(c));
  });
  const line = (r: string[]): string =>
    r
      .map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(line(header) + '\n');
  process.stdout.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  for (const r of cells.slice(1)) process.stdout.write(line(r) + '\n');
}

/** Prints the machine-readable summary: one JSON object on the last line of a benchmark's output. */
export function printJsonLine(bench: string, results: Record<string, unknown>): void {
  process.stdout.write('\n' + JSON.stringify({ bench, date: new Date().toISOString(), ...results }) + '\n');
}

/** Prints progress on stderr, so stdout keeps only the tables and the JSON line. */
export function progress(message: string): void {
  process.stderr.write(`· ${message}\n`);
}

/**
 * How many measured runs a benchmark makes: `--runs N` (or `--runs=N`) on its command line, else
 * BENCH_RUNS, else `fallback`.
 */
export function benchRuns(fallback: number): number {
  const args = process.argv.slice(2);
  let value: string | undefined = process.env.BENCH_RUNS;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--runs') value = args[i + 1];
    else if (arg.startsWith('--runs=')) value = arg.slice('--runs='.length);
  }
  if (value === undefined || value === '') return fallback;
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, not ${value}`);
  return runs;
}

/** The 1, 5 and 15 minute load averages, rounded. */
export function loadAverage(): number[] {
  return loadavg().map((l) => round(l, 2));
}

/**
 * Prints a benchmark's first line, "<bench>: <n> CPUs, load average <1 5 15 min> at start<detail>", and
 * returns that load average.
 */
export function announceBench(bench: string, detail = ''): number[] {
  const load = loadAverage();
  process.stdout.write(`${bench}: ${cpus().length} CPUs, load average ${load.join(' ')} at start${detail}\n`);
  return load;
}

/** Announces a run on stdout with the load average at its start (and returns that load average). */
export function startRun(bench: string, run: number, runs: number): number[] {
  const load = loadAverage();
  process.stdout.write(`${bench} run ${run}/${runs}: load average ${load.join(' ')} at start\n`);
  return load;
}
