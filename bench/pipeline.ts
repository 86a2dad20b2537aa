/**
 * Pipeline overhead: a 10-action pipeline of trivial containers (`true` on busybox, pipeline filesystem
 * mounted) run through Gantry, against the same 10 containers (same limits, mounts and environment size)
 * created, attached, started, waited for and removed one after the other straight through the Docker API.
 * Also: how long from POST .../executions to the first container starting, on an idle server (from the
 * engine's own `start` event), against the engine's own start call. That baseline is the start call of the
 * raw run's first container: like Gantry's first container it follows the idle pause and a create on an
 * engine that was idle, and the engine is slower then than in the middle of a run (the median start call
 * over all raw containers, the warm engine's, is printed as well). Gantry's end is seen through the
 * execution's event stream, as the web UI sees it.
 *
 *   node --import tsx bench/pipeline.ts [--runs N]     (default 3; BENCH_RUNS works too)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { confinement, DEFAULT_LIMITS } from '../src/runtime/docker/docker-runtime.ts';
import { TEST_IMAGE } from '../test/support/harness.ts';
import { at, runAndWait, type ObservedExecution } from './support/executions.ts';
import { busyboxAction, createBenchProject, createPipelineWithActions } from './support/fixtures.ts';
import { startGantryServer } from './support/gantry-server.ts';
import { cpuTimeOf } from './support/process-sampler.ts';
import {
  containerPhases,
  RawDocker,
  type ContainerEvent,
  type ContainerEventWatch,
  type ContainerPhases,
  type RawRunTimings,
} from './support/raw-docker.ts';
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

const RUNS = benchRuns(3);
const ACTIONS = 10;
/** Issue 14's targets: wall time against raw, and POST → first container start against the start call. */
const TARGET_RATIO = 1.03;
const TARGET_FIRST_START_MS = 40;
/** Pause between runs so that each one starts on an idle server. */
const IDLE_MS = 500;
const IMAGE = `${TEST_IMAGE.docker_image_name}:${TEST_IMAGE.docker_image_tag}`;

interface GantryRun {
  observed: ObservedExecution;
  firstStart: ContainerEvent;
  containers: ContainerPhases;
  /** CPU time the Gantry process used from POST to the final status (ms). */
  cpu: number;
}

/** Waits until the engine reported the removal of `count` containers labelled gantry.execution=`execution`. */
async function containersOf(
  watch: ContainerEventWatch,
  execution: string,
  count: number,
): Promise<ContainerEvent[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = watch.withLabel('gantry.execution', execution);
    if (events.filter((e) => e.action === 'destroy').length >= count || Date.now() > deadline) return events;
    await sleep(20);
  }
}

/** Where one Gantry execution spent its time, from the server's own start/finish dates (ms). */
function breakdown(run: GantryRun): Record<string, number> {
  const { observed, firstStart } = run;
  const e = observed.execution;
  const actions = e.action_executions as { start_date: string; finish_date: string }[];
  const starts = actions.map((a) => at(a.start_date));
  const finishes = actions.map((a) => at(a.finish_date));
  const inActions = actions.reduce((sum, _, i) => sum + (finishes[i]! - starts[i]!), 0);
  const between = actions.slice(1).reduce((sum, _, i) => sum + (starts[i + 1]! - finishes[i]!), 0);
  return {
    wall: observed.observedFinalAt - observed.postedAt,
    serverSide: at(e.finish_date) - at(e.start_date),
    postAnswer: observed.acceptedAt - observed.postedAt,
    postToStart: at(e.start_date) - observed.postedAt,
    startToFirstAction: starts[0]! - at(e.start_date),
    firstActionToContainerStart: firstStart.atMs - starts[0]!,
    inActions,
    betweenActions: between,
    lastActionToFinish: at(e.finish_date) - finishes[finishes.length - 1]!,
    finishToObserved: observed.observedFinalAt - at(e.finish_date),
    postToFirstContainerStart: firstStart.atMs - observed.postedAt,
    cpu: run.cpu,
    ...Object.fromEntries(Object.entries(run.containers).map(([k, v]) => [`containers.${k}`, v])),
  };
}

interface RawPipelineRun {
  total: number;
  perContainer: RawRunTimings[];
  containers: ContainerPhases;
}

async function main(): Promise<void> {
  const loadAtStart = announceBench('bench/pipeline', `, ${RUNS} runs`);
  const raw = new RawDocker();
  writeFileSync(path.join(raw.scratchDir, 'README.md'), '# bench\n');
  // Stands in for the per-action outputs directory Gantry mounts at /gantry.
  const rawOutputs = mkdtempSync(path.join(tmpdir(), 'gantry-bench-outputs-'));
  const server = await startGantryServer();
  const watch = await raw.watchEvents(`gantry.instance=${server.instanceLabel}`);
  const rawWatch = await raw.watchEvents(`gantry.instance=${raw.instance}`);
  let removeRepo = (): void => undefined;
  try {
    const project = await createBenchProject(server);
    removeRepo = project.removeRepo;
    const actions = Array.from({ length: ACTIONS }, (_, i) => busyboxAction(`step ${i + 1}`));
    const { pipelinePath, pipelineId } = await createPipelineWithActions(
      server,
      project.projectPath,
      'Ten trivial actions',
      actions,
    );

    const gantryRun = async (): Promise<GantryRun> => {
      let firstStart: Promise<ContainerEvent> | undefined;
      const cpuBefore = cpuTimeOf(server.pid)!;
      const observed = await runAndWait(server, pipelinePath, {
        // Wait for the first container before following the run, so no request competes with the start.
        afterAccept: async (id) => {
          firstStart = watch.next(
            (ev) => ev.action === 'start' && ev.labels['gantry.execution'] === String(id),
          );
          await firstStart.catch(() => undefined);
        },
      });
      if (observed.execution.status !== 'SUCCESSFUL')
        throw new Error(
          `execution ${observed.id} ended ${observed.execution.status}: ${observed.execution.error_message}`,
        );
      const cpu = cpuTimeOf(server.pid)! - cpuBefore;
      const containers = containerPhases(await containersOf(watch, String(observed.id), ACTIONS));
      return { observed, firstStart: await firstStart!, containers, cpu };
    };
    const rawRun = async (n: number): Promise<RawPipelineRun> => {
      const t0 = performance.now();
      const perContainer: RawRunTimings[] = [];
      for (let i = 0; i < ACTIONS; i += 1) {
        const run = await raw.run({
          image: IMAGE,
          cmd: ['sh', '-c', 'true'],
          workingDir: '/buddy/bench',
          binds: [`${raw.scratchDir}:/buddy/bench`, `${rawOutputs}:/gantry`],
          labels: {
            'gantry.instance': raw.instance,
            'gantry.execution': String(n),
            'gantry.action_execution': randomBytes(12).toString('hex'),
            'gantry.pipeline': String(pipelineId),
          },
          // As many variables as Gantry passes (the BUDDY_* built-ins of an execution).
          env: Object.fromEntries(
            Array.from({ length: 16 }, (_, k) => [`BUDDY_VARIABLE_${k}`, `value ${k} of run ${n}`]),
          ),
          // The same limits and no-new-privileges as Gantry's containers: they cost the engine time at start.
          hostConfig: confinement(DEFAULT_LIMITS),
        });
        if (run.exitCode !== 0) throw new Error(`raw container exited ${run.exitCode}`);
        perContainer.push(run.timings);
      }
      const total = performance.now() - t0;
      return {
        total,
        perContainer,
        containers: containerPhases(await containersOf(rawWatch, String(n), ACTIONS)),
      };
    };

    // One untimed run of each warms the engine, Gantry's JIT and its git mirror and checkout.
    progress('warm-up run (Gantry, then raw)');
    const cold = breakdown(await gantryRun());
    await rawRun(0);

    const gantry: Record<string, number>[] = [];
    const raws: RawPipelineRun[] = [];
    const loads: number[][] = [];
    for (let i = 1; i <= RUNS; i += 1) {
      // Interleaved, so that drift in the engine's speed affects both sides alike; which side goes
      // first alternates, so neither always runs right after the other.
      loads.push(startRun('bench/pipeline', i, RUNS));
      const order = i % 2 === 1 ? (['gantry', 'raw'] as const) : (['raw', 'gantry'] as const);
      for (const side of order) {
        await sleep(IDLE_MS);
        progress(`run ${i}/${RUNS}: ${side === 'gantry' ? 'Gantry' : 'raw Docker API'}`);
        if (side === 'gantry') gantry.push(breakdown(await gantryRun()));
        else raws.push(await rawRun(i));
      }
    }

    const rawTotals = raws.map((r) => r.total);
    const rawTimings = raws.flatMap((r) => r.perContainer);
    const rawPhases = raws.map((r) => r.containers);
    /** Docker's own start call in each raw run (median over its containers: mostly a warm engine's). */
    const rawStartCall = raws.map((r) => median(r.perContainer.map((t) => t.start)));
    /**
     * The start call of each raw run's first container: the same engine state as Gantry's first start (after
     * the idle pause, right after a create on an idle engine), hence the target's baseline.
     */
    const rawFirstStartCall = raws.map((r) => r.perContainer[0]!.start);
    const rawFirstCreateCall = raws.map((r) => r.perContainer[0]!.create);
    const med = (key: string): number => median(gantry.map((g) => g[key]!));
    const rawMedian = median(rawTotals);
    const runRatios = gantry.map((g, i) => g.wall! / rawTotals[i]!);
    const latencies = gantry.map((g) => g.postToFirstContainerStart!);
    const latencyOverStart = latencies.map((l, i) => l - rawStartCall[i]!);
    const latencyOverFirstStart = latencies.map((l, i) => l - rawFirstStartCall[i]!);
    printTable(
      `Runs: a ${ACTIONS}-action pipeline through Gantry and the same ${ACTIONS} containers through the Docker API`,
      [
        'run',
        'load (1 min)',
        'Gantry wall',
        'raw',
        'Gantry / raw',
        'POST → 1st start',
        'raw 1st start call',
        '− raw 1st start call',
        'raw start call (median)',
        '− raw median',
      ],
      gantry.map((g, i) => [
        String(i + 1),
        loads[i]![0]!.toFixed(2),
        ms(g.wall!),
        ms(rawTotals[i]!),
        ratio(g.wall!, rawTotals[i]!),
        ms(latencies[i]!),
        ms(rawFirstStartCall[i]!),
        ms(latencyOverFirstStart[i]!),
        ms(rawStartCall[i]!),
        ms(latencyOverStart[i]!),
      ]),
    );
    printTable(
      `Pipeline of ${ACTIONS} trivial containers, median of ${RUNS} runs (after 1 warm-up run)`,
      ['measure', 'Gantry', 'raw Docker API', 'Gantry / raw'],
      [
        [
          'wall time, POST → SUCCESSFUL seen on the event stream',
          ms(med('wall')),
          ms(rawMedian),
          ratio(med('wall'), rawMedian),
        ],
        ['median of the per-run ratios', '', '', `${median(runRatios).toFixed(2)}×`],
        [
          'server-side, execution start_date → finish_date',
          ms(med('serverSide')),
          ms(rawMedian),
          ratio(med('serverSide'), rawMedian),
        ],
        [
          'per action (wall / actions)',
          ms(med('wall') / ACTIONS),
          ms(rawMedian / ACTIONS),
          ratio(med('wall'), rawMedian),
        ],
        [
          'fastest run, wall (less sensitive to a busy machine)',
          ms(Math.min(...gantry.map((g) => g.wall!))),
          ms(Math.min(...rawTotals)),
          ratio(Math.min(...gantry.map((g) => g.wall!)), Math.min(...rawTotals)),
        ],
      ],
    );
    printTable(
      'Where Gantry spends the wall time (median ms, from the execution and action execution dates)',
      ['phase', 'median', 'cold run'],
      [
        [
          'POST sent → execution start_date (accept: resolve, persist; schedule)',
          ms(med('postToStart')),
          ms(cold.postToStart!),
        ],
        [
          'start_date → 1st action start_date (filesystem, git checkout)',
          ms(med('startToFirstAction')),
          ms(cold.startToFirstAction!),
        ],
        [
          '1st action start_date → its container started (create, attach, start)',
          ms(med('firstActionToContainerStart')),
          ms(cold.firstActionToContainerStart!),
        ],
        [
          `inside the ${ACTIONS} actions (Σ start_date → finish_date)`,
          ms(med('inActions')),
          ms(cold.inActions!),
        ],
        [`between actions (Σ of ${ACTIONS - 1} gaps)`, ms(med('betweenActions')), ms(cold.betweenActions!)],
        [
          'last action finish_date → execution finish_date',
          ms(med('lastActionToFinish')),
          ms(cold.lastActionToFinish!),
        ],
        ['finish_date → seen on the event stream', ms(med('finishToObserved')), ms(cold.finishToObserved!)],
        ['(POST answered, overlaps the above)', ms(med('postAnswer')), ms(cold.postAnswer!)],
        ['(CPU time of the Gantry process, POST → final status)', ms(med('cpu')), ms(cold.cpu!)],
      ],
    );
    const rawPhase = (key: keyof ContainerPhases): number => median(rawPhases.map((p) => p[key]));
    // The engine's start call varies a lot on a shared machine; time outside the containers does not.
    const outsideGantry = median(gantry.map((g) => g.wall! - g['containers.span']!));
    const outsideRaw = median(rawTotals.map((t, i) => t - rawPhases[i]!.span));
    printTable(
      `The ${ACTIONS} containers as the engine saw them (Σ over containers, median ms of ${RUNS} runs; docker events)`,
      ['phase', 'Gantry', 'raw', 'Gantry − raw'],
      (
        [
          ['createToStart', 'create → start (attach, start call)'],
          ['startToDie', 'start → die (the command)'],
          ['dieToDestroy', 'die → destroy (wait, drain output, remove)'],
          ['betweenContainers', 'destroy → next create (driver work between containers)'],
          ['span', 'first create → last destroy'],
        ] as const
      )
        .map(([key, label]) => [
          label,
          ms(med(`containers.${key}`)),
          ms(rawPhase(key)),
          ms(med(`containers.${key}`) - rawPhase(key)),
        ])
        .concat([
          [
            'outside any container (wall − span)',
            ms(outsideGantry),
            ms(outsideRaw),
            ms(outsideGantry - outsideRaw),
          ],
        ]),
    );
    const step = (key: keyof RawRunTimings): number => median(rawTimings.map((t) => t[key]));
    printTable(
      `Raw Docker API, per container (median of ${rawTimings.length})`,
      ['call', 'median'],
      (['create', 'attach', 'start', 'wait', 'remove', 'total'] as const).map((k) => [k, ms(step(k))]),
    );
    printTable(
      `Latency, POST .../executions → first container started (docker 'start' event), idle server`,
      ['measure', 'value'],
      [
        [`median of ${RUNS}`, ms(median(latencies))],
        ['min / max', `${ms(Math.min(...latencies))} / ${ms(Math.max(...latencies))}`],
        ["Docker start call, raw, each run's first container (median)", ms(median(rawFirstStartCall))],
        ["Docker create call, raw, each run's first container (median)", ms(median(rawFirstCreateCall))],
        ['latency − first start call of the same run (median)', ms(median(latencyOverFirstStart))],
        ['Docker start call, raw (median over all raw containers)', ms(step('start'))],
        ['latency − median start call of the same run (median)', ms(median(latencyOverStart))],
        ['cold run (first execution of the pipeline)', ms(cold.postToFirstContainerStart!)],
      ],
    );
    const wallRatio = median(runRatios);
    // Gantry's own cost, measured where the engine's noisy start call is not involved: time outside any
    // container plus its extra work between containers. Added to the raw time it gives the ratio a quiet
    // machine should show.
    const ownOverhead =
      outsideGantry - outsideRaw + (med('containers.betweenContainers') - rawPhase('betweenContainers'));
    const estimatedRatio = (rawMedian + ownOverhead) / rawMedian;
    const firstStartOver = median(latencyOverFirstStart);
    const overWarmStart = median(latencyOverStart);
    process.stdout.write(
      [
        '',
        `Gantry/raw = ${wallRatio.toFixed(3)}× (median of per-run ratios; target ≤ ${TARGET_RATIO}×): ${wallRatio <= TARGET_RATIO ? 'within target' : 'ABOVE target'}`,
        `Gantry's own overhead (outside containers + extra between them) = ${ms(ownOverhead)} → ${estimatedRatio.toFixed(3)}× of the raw time`,
        `POST → first container start = start call + ${ms(firstStartOver)} (target ≤ + ${TARGET_FIRST_START_MS} ms): ${firstStartOver <= TARGET_FIRST_START_MS ? 'within target' : 'ABOVE target'}`,
        `  (start call of the raw run's first container; against the median start call of all raw containers: + ${ms(overWarmStart)})`,
        '',
      ].join('\n'),
    );
    printJsonLine('pipeline', {
      runs: RUNS,
      actions: ACTIONS,
      load_average_at_start: loadAtStart,
      load_average_per_run: loads,
      gantry_wall_ms: gantry.map((g) => round(g.wall!, 1)),
      raw_ms: rawTotals.map((t) => round(t, 1)),
      ratio_per_run: runRatios.map((r) => round(r, 3)),
      gantry_wall_ms_median: round(med('wall'), 1),
      gantry_server_side_ms_median: round(med('serverSide'), 1),
      raw_ms_median: round(rawMedian, 1),
      ratio_wall: round(wallRatio, 3),
      ratio_of_medians: round(med('wall') / rawMedian, 3),
      ratio_server_side: round(med('serverSide') / rawMedian, 3),
      ratio_fastest_run: round(Math.min(...gantry.map((g) => g.wall!)) / Math.min(...rawTotals), 3),
      outside_containers_ms_median: { gantry: round(outsideGantry, 1), raw: round(outsideRaw, 1) },
      target_ratio: TARGET_RATIO,
      own_overhead_ms: round(ownOverhead, 1),
      ratio_estimated_from_own_overhead: round(estimatedRatio, 3),
      first_container_start_latency_ms: latencies.map((l) => round(l, 1)),
      raw_first_start_call_ms: rawFirstStartCall.map((l) => round(l, 1)),
      raw_first_create_call_ms: rawFirstCreateCall.map((l) => round(l, 1)),
      first_start_over_first_start_call_ms_median: round(firstStartOver, 1),
      raw_start_call_ms: rawStartCall.map((l) => round(l, 1)),
      first_start_over_start_call_ms_median: round(overWarmStart, 1),
      target_first_start_over_start_call_ms: TARGET_FIRST_START_MS,
      breakdown_ms_median: Object.fromEntries(Object.keys(gantry[0]!).map((k) => [k, round(med(k), 1)])),
      raw_container_phases_ms_median: Object.fromEntries(
        (['createToStart', 'startToDie', 'dieToDestroy', 'betweenContainers', 'span'] as const).map((k) => [
          k,
          round(rawPhase(k), 1),
        ]),
      ),
      raw_per_container_ms_median: Object.fromEntries(
        (['create', 'attach', 'start', 'wait', 'remove', 'total'] as const).map((k) => [
          k,
          round(step(k), 1),
        ]),
      ),
    });
  } finally {
    watch.close();
    rawWatch.close();
    await server.stop();
    // Gantry removes its containers itself; this sweep only matters after an error.
    await raw.removeLabelled(`gantry.instance=${server.instanceLabel}`);
    await raw.dispose();
    rmSync(rawOutputs, { recursive: true, force: true });
    removeRepo();
  }
}

await main();
