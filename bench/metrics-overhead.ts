/**
 * What the Prometheus metrics cost the server: a real `gantry serve` answers 1,000 requests/s of
 * `GET /api/workspaces` (autocannon at a fixed rate) with metrics on (the default: per-request
 * accounting, prom-client's process metrics, a scrape every second like an eager Prometheus) and with
 * `--metrics-listen off`, in the same run, alternating, ROUNDS times each. Prints the server's CPU
 * (from /proc: per second, and per 1,000 answered requests, which stays comparable when a loaded
 * machine cannot reach the rate) and its RSS (peak during the load, from /proc).
 *
 *   node --import tsx bench/metrics-overhead.ts      (BENCH_SECONDS, BENCH_ROUNDS to change the length)
 */
import { cpus, loadavg } from 'node:os';
import autocannon from 'autocannon';
import { expectStatus, startGantryServer, type GantryServer } from './support/gantry-server.ts';
import { cpuTimeOf, RssSampler } from './support/process-sampler.ts';

const RATE = 1000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Sample {
  cpuMsPerSecond: number;
  /** CPU per 1,000 answered requests: comparable even when a loaded machine misses the target rate. */
  cpuMsPer1000: number;
  peakRssMb: number;
  achievedRate: number;
  non2xx: number;
}

async function measure(server: GantryServer, scrape: boolean): Promise<Sample> {
  const rss = new RssSampler(server.pid).start();
  const cpuBefore = cpuTimeOf(server.pid)!;
  const scraper = scrape
    ? setInterval(() => void server.request('GET', '/metrics').catch(() => undefined), 1000)
    : null;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url: `${server.baseUrl}/api/workspaces`,
        headers: { authorization: `Bearer ${server.token}` },
        connections: 10,
        overallRate: RATE,
        duration: SECONDS,
      },
      (err: unknown, r: autocannon.Result) => (err ? reject(err as Error) : resolve(r)),
    );
  });
  if (scraper) clearInterval(scraper);
  const cpuMs = cpuTimeOf(server.pid)! - cpuBefore;
  return {
    cpuMsPerSecond: cpuMs / SECONDS,
    cpuMsPer1000: (cpuMs / Math.max(1, result.requests.total)) * 1000,
    peakRssMb: rss.stop() / 1024 / 1024,
    achievedRate: result.requests.total / SECONDS,
    non2xx: result.non2xx,
  };
}

async function oneRound(metrics: boolean): Promise<Sample> {
  const server = await startGantryServer({ serveArgs: metrics ? [] : ['--metrics-listen', 'off'] });
  try {
    expectStatus(
      await server.request('POST', '/api/workspaces', { name: 'Bench', domain: 'bench' }),
      201,
      'workspace',
    );
    if (metrics) expectStatus(await server.request('GET', '/metrics'), 200, 'metrics');
    // Warm-up: JIT, statement cache, connection pools.
    await measureWarmUp(server);
    return await measure(server, metrics);
  } finally {
    await server.stop();
  }
}

async function measureWarmUp(server: GantryServer): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    autocannon(
      {
        url: `${server.baseUrl}/api/workspaces`,
        headers: { authorization: `Bearer ${server.token}` },
        connections: 10,
        overallRate: RATE,
        duration: 3,
      },
      (err: unknown) => (err ? reject(err as Error) : resolve()),
    ),
  );
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

process.stdout.write(
  `bench/metrics-overhead: ${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at start; ${RATE} req/s for ${SECONDS} s, ${ROUNDS} rounds each, alternating\n`,
);
const results: Record<'off' | 'on', Sample[]> = { off: [], on: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    const s = await oneRound(mode === 'on');
    results[mode].push(s);
    process.stdout.write(
      `  round ${round + 1} metrics ${mode.padEnd(3)}: ${s.achievedRate.toFixed(0)} req/s, CPU ${s.cpuMsPerSecond.toFixed(0)} ms/s = ${s.cpuMsPer1000.toFixed(0)} ms per 1,000 requests, peak RSS ${s.peakRssMb.toFixed(1)} MB, non-2xx ${s.non2xx}\n`,
    );
  }
}
const cpuOff = median(results.off.map((s) => s.cpuMsPer1000));
const cpuOn = median(results.on.map((s) => s.cpuMsPer1000));
const rssOff = median(results.off.map((s) => s.peakRssMb));
const rssOn = median(results.on.map((s) => s.peakRssMb));
process.stdout.write(
  `medians: CPU ${cpuOff.toFixed(0)} → ${cpuOn.toFixed(0)} ms per 1,000 requests (${(((cpuOn - cpuOff) / cpuOff) * 100).toFixed(1)}%), ` +
    `peak RSS ${rssOff.toFixed(1)} → ${rssOn.toFixed(1)} MB (${(rssOn - rssOff).toFixed(1)} MB)\n`,
);
