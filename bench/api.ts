/**
 * API throughput: autocannon (10 connections, 10 s) on two read endpoints of a Gantry holding 50 pipelines
 * with one RUN_DOCKER_CONTAINER action each, and on its trivial /healthz route (the same Fastify stack with
 * no database or auth), each against a bare node:http server answering the same URL with the same body
 * (what the Node HTTP stack alone costs), so the ratios are Gantry's own overhead.
 * The Gantry process's RSS is sampled every 200 ms throughout.
 *
 *   node --import tsx bench/api.ts
 */
import { cpus, loadavg } from 'node:os';
import autocannon from 'autocannon';
import { busyboxAction, createBenchProject, createPipelineWithActions } from './support/fixtures.ts';
import { expectStatus, startGantryServer, type GantryServer } from './support/gantry-server.ts';
import { mib, ms, printJsonLine, printTable, progress, ratio, round } from './support/report.ts';
import { cpuTimeOf, RssSampler } from './support/process-sampler.ts';
import { startStaticJsonServer, type StaticJsonServer } from './support/static-json-baseline.ts';

const PIPELINES = 50;
const CONNECTIONS = 10;
const DURATION_S = 10;
/** Untimed load before each measurement, so the JIT has compiled the hot paths of both servers. */
const WARMUP_S = 2;

interface Measurement {
  requestsPerSecond: number;
  latencyP50: number;
  latencyP99: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  peakRss: number;
  /** CPU time the server process used per answered request (ms). */
  cpuPerRequest: number;
}

/** Percentile (0–100) of an ascending list, nearest rank. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Runs autocannon and takes latency percentiles from every response's own time: autocannon's histogram
 * keeps whole milliseconds, which rounds a bare node:http server's latency down to 0.
 */
function autocannonWithLatencies(
  options: autocannon.Options,
): Promise<{ result: autocannon.Result; latencies: Float64Array }> {
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, result: autocannon.Result) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve({ result, latencies: Float64Array.from(times).sort() });
    });
    // The emitter passes (client, statusCode, resBytes, responseTime); the typings omit the client.
    instance.on('response', (...args: unknown[]) => times.push(args[args.length - 1] as number));
  });
}

async function load(
  url: string,
  headers: Record<string, string>,
  pid: number,
  seconds: number,
): Promise<Measurement> {
  const rss = new RssSampler(pid).start();
  const cpuBefore = cpuTimeOf(pid)!;
  const { result: r, latencies } = await autocannonWithLatencies({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
  });
  return {
    requestsPerSecond: r.requests.average,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    requests: r.requests.total,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    peakRss: rss.stop(),
    cpuPerRequest: (cpuTimeOf(pid)! - cpuBefore) / Math.max(1, r.requests.total),
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((l) => round(l, 2));
  process.stdout.write(`bench/api: ${cpus().length} CPUs, load average ${loadAtStart.join(' ')} at start\n`);
  progress('starting gantry serve');
  const server: GantryServer = await startGantryServer();
  const overall = new RssSampler(server.pid).start();
  let baseline: StaticJsonServer | null = null;
  let removeRepo = (): void => undefined;
  try {
    const rssAtStart = overall.first;
    const { projectPath, removeRepo: remove } = await createBenchProject(server);
    removeRepo = remove;
    progress(`creating ${PIPELINES} pipelines with one RUN_DOCKER_CONTAINER action each`);
    const setupStart = performance.now();
    const pipelines: { pipelinePath: string; actionIds: number[] }[] = [];
    for (let i = 1; i <= PIPELINES; i += 1) {
      pipelines.push(
        await createPipelineWithActions(server, projectPath, `Pipeline ${String(i).padStart(2, '0')}`, [
          busyboxAction('Run tests'),
        ]),
      );
    }
    const setupMs = performance.now() - setupStart;
    const rssAfterSetup = overall.last;

    const middle = pipelines[Math.floor(PIPELINES / 2)]!;
    const targets = [
      // Same process, same Fastify instance and hooks, no database and no auth: what a trivial route costs
      // in this run, so the two API rows can be read against it whatever the machine's load.
      { name: 'GET /healthz (trivial Fastify route)', url: '/healthz' },
      {
        name: 'GET .../pipelines/:id/actions/:action_id',
        url: `${middle.pipelinePath}/actions/${middle.actionIds[0]}`,
      },
      { name: 'GET .../pipelines?page=2&per_page=20', url: `${projectPath}/pipelines?page=2&per_page=20` },
    ];
    const bodies: Record<string, string> = {};
    for (const t of targets) {
      const res = await fetch(server.baseUrl + t.url, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      const text = await res.text();
      expectStatus({ status: res.status, body: text }, 200, t.url);
      bodies[t.url] = text;
    }
    baseline = await startStaticJsonServer(bodies);

    const auth = { authorization: `Bearer ${server.token}` };
    const results: { name: string; bytes: number; gantry: Measurement; node: Measurement }[] = [];
    for (const t of targets) {
      progress(`${t.name}: Gantry (${WARMUP_S} s warm-up + ${DURATION_S} s)`);
      await load(server.baseUrl + t.url, auth, server.pid, WARMUP_S);
      const gantry = await load(server.baseUrl + t.url, auth, server.pid, DURATION_S);
      progress(`${t.name}: bare node:http (${WARMUP_S} s warm-up + ${DURATION_S} s)`);
      await load(baseline.baseUrl + t.url, auth, baseline.pid, WARMUP_S);
      const node = await load(baseline.baseUrl + t.url, auth, baseline.pid, DURATION_S);
      results.push({ name: t.name, bytes: Buffer.byteLength(bodies[t.url]!), gantry, node });
    }
    const peakRss = overall.stop();

    const rows: (string | number)[][] = [];
    for (const r of results) {
      for (const [label, m] of [
        ['Gantry', r.gantry],
        ['node:http', r.node],
      ] as const) {
        rows.push([
          label === 'Gantry' ? `${r.name} (${r.bytes} B)` : '',
          label,
          Math.round(m.requestsPerSecond),
          ms(m.latencyP50),
          ms(m.latencyP99),
          m.requests,
          `${m.errors} / ${m.non2xx}`,
          ms(m.cpuPerRequest),
          mib(m.peakRss),
        ]);
      }
      rows.push([
        '',
        'Gantry / node:http',
        ratio(r.gantry.requestsPerSecond, r.node.requestsPerSecond),
        ratio(r.gantry.latencyP50, r.node.latencyP50),
        ratio(r.gantry.latencyP99, r.node.latencyP99),
        '',
        '',
        ratio(r.gantry.cpuPerRequest, r.node.cpuPerRequest),
        '',
      ]);
    }
    printTable(
      `autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per row (after ${WARMUP_S} s warm-up); ${PIPELINES} pipelines`,
      [
        'endpoint',
        'server',
        'req/s',
        'p50',
        'p99',
        'requests',
        'errors / non-2xx',
        'server CPU/req',
        'peak RSS',
      ],
      rows,
    );
    printTable(
      'Gantry server process memory (VmRSS, sampled every 200 ms)',
      ['moment', 'RSS'],
      [
        ['after start', mib(rssAtStart)],
        [
          `after creating ${PIPELINES} pipelines + actions (${ms(setupMs)}, ${ms(setupMs / (PIPELINES * 2))} per POST)`,
          mib(rssAfterSetup),
        ],
        ['peak over the whole run', mib(peakRss)],
        ['at the end', mib(overall.last)],
      ],
    );
    const loadAtEnd = loadavg().map((l) => round(l, 2));
    // Issue 9's targets, read against /healthz of the same run (what this machine gave a trivial route now).
    const healthz = results[0]!.gantry;
    printTable(
      `issue 9 targets (idle 2-core machine), against GET /healthz of this run: ${Math.round(healthz.requestsPerSecond)} req/s, ${ms(healthz.cpuPerRequest)} server CPU/req`,
      [
        'endpoint',
        'target req/s',
        'req/s',
        'met',
        'server CPU/req',
        'CPU / healthz CPU',
        'req/s / healthz req/s',
      ],
      [
        { label: 'GET action', target: 5000, m: results[1]!.gantry },
        { label: '20-pipeline page', target: 2000, m: results[2]!.gantry },
      ].map(({ label, target, m }) => [
        label,
        target,
        Math.round(m.requestsPerSecond),
        m.requestsPerSecond >= target ? 'yes' : 'no',
        ms(m.cpuPerRequest),
        ratio(m.cpuPerRequest, healthz.cpuPerRequest),
        ratio(m.requestsPerSecond, healthz.requestsPerSecond),
      ]),
    );
    process.stdout.write(`load average ${loadAtEnd.join(' ')} at end\n`);
    printJsonLine('api', {
      pipelines: PIPELINES,
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      load_average_at_start: loadAtStart,
      load_average_at_end: loadAtEnd,
      setup_ms_per_post: round(setupMs / (PIPELINES * 2), 2),
      gantry_rss_bytes: { start: rssAtStart, after_setup: rssAfterSetup, peak: peakRss, end: overall.last },
      endpoints: results.map((r) => ({
        endpoint: r.name,
        body_bytes: r.bytes,
        gantry: summary(r.gantry),
        node_http: summary(r.node),
        ratio_rps: round(r.gantry.requestsPerSecond / r.node.requestsPerSecond, 3),
        ratio_p50: round(r.gantry.latencyP50 / r.node.latencyP50, 3),
      })),
    });
  } finally {
    overall.stop();
    await baseline?.stop();
    await server.stop();
    removeRepo();
  }
}

function summary(m: Measurement): Record<string, number> {
  return {
    rps: round(m.requestsPerSecond, 1),
    p50_ms: round(m.latencyP50, 3),
    p99_ms: round(m.latencyP99, 3),
    requests: m.requests,
    errors: m.errors,
    timeouts: m.timeouts,
    non2xx: m.non2xx,
    peak_rss_bytes: m.peakRss,
    server_cpu_ms_per_request: round(m.cpuPerRequest, 4),
  };
}

await main();
