/**
 * Log throughput: one action printing 100 MB of 71-byte lines through Gantry (demultiplexed, split into
 * lines, written to the log store) against the same container run straight through the Docker API with
 * its output counted and discarded. Also checks how many lines Gantry stored and samples its RSS.
 *
 * The server runs with production's node options (bin/gantry.js's #! line), which bound its young
 * generation and so its RSS.
 *
 *   node --import tsx bench/logs.ts [--runs N]     (default 3; BENCH_RUNS works too)
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_IMAGE } from '../test/support/harness.ts';
import { at, runAndWait } from './support/executions.ts';
import { busyboxAction, createBenchProject, createPipelineWithActions } from './support/fixtures.ts';
import { expectStatus, startGantryServer } from './support/gantry-server.ts';
import {
  benchRuns,
  announceBench,
  median,
  mib,
  ms,
  printJsonLine,
  printTable,
  progress,
  ratio,
  round,
  startRun,
} from './support/report.ts';
import { RawDocker } from './support/raw-docker.ts';
import { cpuTimeOf, RssSampler } from './support/process-sampler.ts';

const RUNS = benchRuns(3);
/** Issue 14's target for the wall time against the raw attach-and-discard. */
const TARGET_RATIO = 1.1;
const BYTES = 100_000_000;
const LINE = '0123456789012345678901234567890123456789012345678901234567890123456789';
const COMMAND = `yes ${LINE} | head -c ${BYTES}`;
/** Lines of LINE + "\n" (71 bytes); the last one is cut short by head. */
const EXPECTED_LINES = Math.ceil(BYTES / (LINE.length + 1));
const IDLE_MS = 500;

interface GantryLogRun {
  wall: number;
  action: number;
  storedLines: number;
  logLines: number;
  fileBytes: number;
  rssBefore: number;
  peakRss: number;
  /** CPU time the Gantry process used during the run. */
  cpu: number;
}

async function main(): Promise<void> {
  const loadAtStart = announceBench('bench/logs', `, ${RUNS} runs`);
  const raw = new RawDocker();
  const server = await startGantryServer();
  let removeRepo = (): void => undefined;
  try {
    const project = await createBenchProject(server);
    removeRepo = project.removeRepo;
    const { pipelinePath } = await createPipelineWithActions(server, project.projectPath, 'Print 100 MB', [
      busyboxAction('prints-100mb', {
        inline_commands: COMMAND,
        // Masking on: the log is scanned for this secret (it never appears in the output).
        variables: [{ key: 'DEPLOY_TOKEN', value: 'bench-secret-7f3a9c', encrypted: true }],
      }),
    ]);

    const gantryRun = async (): Promise<GantryLogRun> => {
      const rss = new RssSampler(server.pid).start();
      const cpuBefore = cpuTimeOf(server.pid)!;
      const observed = await runAndWait(server, pipelinePath, {});
      const cpu = cpuTimeOf(server.pid)! - cpuBefore;
      const peakRss = rss.stop();
      const e = observed.execution;
      if (e.status !== 'SUCCESSFUL')
        throw new Error(`execution ${e.id} ended ${e.status}: ${e.error_message}`);
      const a = e.action_executions[0];
      const logs = expectStatus(
        await server.request(
          'GET',
          `${pipelinePath}/executions/${e.id}/action_executions/${a.action_execution_id}/logs?offset=0&limit=1`,
        ),
        200,
        'read log',
      );
      return {
        wall: observed.observedFinalAt - observed.postedAt,
        action: at(a.finish_date) - at(a.start_date),
        storedLines: logs.total_element_count,
        logLines: a.log_lines,
        fileBytes: statSync(path.join(server.dataDir, 'logs', `${a.action_execution_id}.log`)).size,
        rssBefore: rss.first,
        peakRss,
        cpu,
      };
    };
    const rawRun = async (n: number): Promise<{ total: number; bytes: number }> => {
      const run = await raw.run({
        image: `${TEST_IMAGE.docker_image_name}:${TEST_IMAGE.docker_image_tag}`,
        cmd: ['sh', '-c', COMMAND],
        workingDir: '/buddy/bench',
        binds: [`${raw.scratchDir}:/buddy/bench`],
        labels: { 'gantry.instance': raw.instance, 'gantry.execution': String(n) },
        env: {},
      });
      if (run.exitCode !== 0) throw new Error(`raw container exited ${run.exitCode}`);
      return { total: run.timings.total, bytes: run.outputBytes };
    };

    const gantry: GantryLogRun[] = [];
    const rawRuns: { total: number; bytes: number }[] = [];
    const loads: number[][] = [];
    for (let i = 1; i <= RUNS; i += 1) {
      // Interleaved, so that drift in the machine's load affects both sides alike; which side goes
      // first alternates.
      loads.push(startRun('bench/logs', i, RUNS));
      const order = i % 2 === 1 ? (['gantry', 'raw'] as const) : (['raw', 'gantry'] as const);
      for (const side of order) {
        progress(`run ${i}/${RUNS}: ${side === 'gantry' ? 'Gantry' : 'raw Docker API'}`);
        if (side === 'gantry') gantry.push(await gantryRun());
        else rawRuns.push(await rawRun(i));
        await sleep(IDLE_MS);
      }
    }
    const runRatios = gantry.map((g, i) => g.wall / rawRuns[i]!.total);

    const wall = median(gantry.map((g) => g.wall));
    const action = median(gantry.map((g) => g.action));
    const rawTotal = median(rawRuns.map((r) => r.total));
    const mbps = (t: number): string => `${(BYTES / 1e6 / (t / 1000)).toFixed(0)} MB/s`;
    printTable(
      `100 MB of output (${EXPECTED_LINES} lines of 71 bytes), median of ${RUNS} runs`,
      ['measure', 'Gantry', 'raw Docker API', 'Gantry / raw'],
      [
        [
          'wall time (Gantry: POST → SUCCESSFUL on the event stream; raw: create → removed)',
          ms(wall),
          ms(rawTotal),
          ratio(wall, rawTotal),
        ],
        [
          'action start_date → finish_date (Gantry) vs create → removed',
          ms(action),
          ms(rawTotal),
          ratio(action, rawTotal),
        ],
        ['median of the per-run wall ratios', '', '', `${median(runRatios).toFixed(2)}×`],
        ['throughput over that time', mbps(action), mbps(rawTotal), ''],
        ['CPU time of the Gantry process per run', ms(median(gantry.map((g) => g.cpu))), '', ''],
      ],
    );
    printTable(
      'Runs',
      [
        'run',
        'load (1 min)',
        'Gantry wall',
        'Gantry action',
        'raw',
        'Gantry / raw',
        'lines stored',
        'log_lines',
        'log file bytes',
        'raw bytes read',
        'Gantry RSS before → peak',
      ],
      gantry.map((g, i) => [
        String(i + 1),
        loads[i]![0]!.toFixed(2),
        ms(g.wall),
        ms(g.action),
        ms(rawRuns[i]!.total),
        ratio(g.wall, rawRuns[i]!.total),
        g.storedLines,
        g.logLines,
        g.fileBytes,
        rawRuns[i]!.bytes,
        `${mib(g.rssBefore)} → ${mib(g.peakRss)}`,
      ]),
    );
    const linesOk = gantry.every((g) => g.storedLines === EXPECTED_LINES);
    process.stdout.write(
      `\nlines stored: ${gantry.map((g) => g.storedLines).join(', ')} (expected ${EXPECTED_LINES} = ⌈${BYTES}/71⌉): ${linesOk ? 'as expected' : 'DIFFERENT'}\n`,
    );
    process.stdout.write(
      `Gantry peak RSS during the runs: ${mib(Math.max(...gantry.map((g) => g.peakRss)))}\n`,
    );
    const wallRatio = median(runRatios);
    process.stdout.write(
      `Gantry/raw = ${wallRatio.toFixed(3)}× (median of per-run ratios; target ≤ ${TARGET_RATIO}×, every line kept, masking on): ${wallRatio <= TARGET_RATIO && linesOk ? 'within target' : 'ABOVE target'}\n`,
    );
    printJsonLine('logs', {
      runs: RUNS,
      bytes: BYTES,
      load_average_at_start: loadAtStart,
      load_average_per_run: loads,
      gantry_wall_ms: gantry.map((g) => round(g.wall, 1)),
      raw_ms: rawRuns.map((r) => round(r.total, 1)),
      ratio_per_run: runRatios.map((r) => round(r, 3)),
      target_ratio: TARGET_RATIO,
      gantry_wall_ms_median: round(wall, 1),
      gantry_action_ms_median: round(action, 1),
      raw_ms_median: round(rawTotal, 1),
      ratio_wall: round(wallRatio, 3),
      ratio_of_medians: round(wall / rawTotal, 3),
      ratio_action: round(action / rawTotal, 3),
      lines_expected: EXPECTED_LINES,
      lines_stored: gantry.map((g) => g.storedLines),
      lines_as_expected: linesOk,
      raw_bytes_read: rawRuns.map((r) => r.bytes),
      gantry_rss_before_bytes: gantry.map((g) => g.rssBefore),
      gantry_peak_rss_bytes: Math.max(...gantry.map((g) => g.peakRss)),
      gantry_peak_rss_bytes_per_run: gantry.map((g) => g.peakRss),
      gantry_cpu_ms_per_run_median: median(gantry.map((g) => g.cpu)),
    });
  } finally {
    await server.stop();
    await raw.removeLabelled(`gantry.instance=${server.instanceLabel}`);
    await raw.dispose();
    removeRepo();
  }
}

await main();
