/**
 * Two builds of Gantry back to back on bench/api.ts's endpoints, for judging a change on a busy machine:
 * each checkout (its compiled dist/) runs its own server on the same fixtures (50 pipelines, one action
 * each), and rounds alternate which server is measured first, so load that comes and goes hits both
 * alike. What to read is the server CPU per request against /healthz of the same server; req/s moves
 * with the machine's load. The answers of both servers are compared byte for byte first (after
 * replacing each server's own address and the dates), so a change that alters a response shows.
 *
 *   node --import tsx bench/api-ab.ts <checkout A> <checkout B> [--rounds N] [--seconds S]
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { busyboxAction, createBenchProject, createPipelineWithActions } from './support/fixtures.ts';
import { expectStatus, startGantryServer, type GantryServer } from './support/gantry-server.ts';
import { cpuTimeOf } from './support/process-sampler.ts';
import { median, ms, printTable, progress, ratio, round } from './support/report.ts';

const PIPELINES = 50;
const CONNECTIONS = 10;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const [rootA, rootB] = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
if (!rootA || !rootB) {
  process.stderr.write(
    'usage: node --import tsx bench/api-ab.ts <checkout A> <checkout B> [--rounds N] [--seconds S]\n',
  );
  process.exit(2);
}
const ROUNDS = option('--rounds', 3);
const SECONDS = option('--seconds', 5);

interface Sample {
  rps: number;
  cpuPerRequest: number;
  non2xx: number;
}

async function measure(server: GantryServer, url: string, seconds: number): Promise<Sample> {
  const before = cpuTimeOf(server.pid)!;
  const r = await autocannon({
    url: server.baseUrl + url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${server.token}` },
  });
  return {
    rps: r.requests.average,
    cpuPerRequest: (cpuTimeOf(server.pid)! - before) / Math.max(1, r.requests.total),
    non2xx: r.non2xx + r.errors,
  };
}

async function setUp(server: GantryServer): Promise<{ urls: string[]; removeRepo: () => void }> {
  const { projectPath, removeRepo } = await createBenchProject(server);
  const pipelines = [];
  for (let i = 1; i <= PIPELINES; i += 1)
    pipelines.push(
      await createPipelineWithActions(server, projectPath, `Pipeline ${String(i).padStart(2, '0')}`, [
        busyboxAction('Run tests'),
      ]),
    );
  const middle = pipelines[Math.floor(PIPELINES / 2)]!;
  return {
    urls: [
      '/healthz',
      `${middle.pipelinePath}/actions/${middle.actionIds[0]}`,
      `${projectPath}/pipelines?page=2&per_page=20`,
    ],
    removeRepo,
  };
}

/** An answer with the server's own address and every date replaced, for comparing two servers. */
async function normalisedBody(server: GantryServer, url: string): Promise<string> {
  const res = await fetch(server.baseUrl + url, { headers: { authorization: `Bearer ${server.token}` } });
  const text = await res.text();
  expectStatus({ status: res.status, body: text }, 200, url);
  return text
    .replaceAll(new URL(server.baseUrl).host, 'HOST')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'DATE');
}

async function main(): Promise<void> {
  const servers: GantryServer[] = [];
  const removers: (() => void)[] = [];
  try {
    for (const root of [rootA!, rootB!]) {
      progress(`starting ${root}`);
      servers.push(await startGantryServer({ root: path.resolve(root) }));
    }
    let urls: string[] = [];
    for (const server of servers) {
      const made = await setUp(server);
      urls = made.urls;
      removers.push(made.removeRepo);
    }
    for (const url of urls) {
      const [a, b] = [await normalisedBody(servers[0]!, url), await normalisedBody(servers[1]!, url)];
      if (a !== b) throw new Error(`${url}: the two servers answer differently:\nA: ${a}\nB: ${b}`);
    }
    process.stdout.write(
      `answers identical on ${urls.length} URLs; load average ${loadavg()
        .map((l) => round(l, 2))
        .join(' ')} at start\n`,
    );
    const samples: Sample[][][] = urls.map(() => [[], []]);
    for (let round_ = 0; round_ < ROUNDS; round_ += 1) {
      const order = round_ % 2 === 0 ? [0, 1] : [1, 0];
      for (const [u, url] of urls.entries())
        for (const s of order) {
          progress(`round ${round_ + 1}/${ROUNDS} ${'AB'[s]} ${url}`);
          await measure(servers[s]!, url, 1);
          samples[u]![s]!.push(await measure(servers[s]!, url, SECONDS));
        }
    }
    const load = loadavg().map((l) => round(l, 2));
    const rows: (string | number)[][] = [];
    for (const [u, url] of urls.entries()) {
      const [a, b] = samples[u]!.map((list) => ({
        rps: median(list.map((x) => x.rps)),
        cpu: median(list.map((x) => x.cpuPerRequest)),
        healthzCpu: 0,
        bad: list.reduce((n, x) => n + x.non2xx, 0),
      }));
      rows.push([
        url.replace(/\/api\/workspaces\/bench\/projects\/bench/, '…'),
        Math.round(a!.rps),
        Math.round(b!.rps),
        ms(a!.cpu),
        ms(b!.cpu),
        ratio(b!.cpu, a!.cpu),
        `${a!.bad} / ${b!.bad}`,
      ]);
    }
    const healthz = samples[0]!.map((list) => median(list.map((x) => x.cpuPerRequest)));
    for (const [u] of urls.entries())
      if (u > 0) {
        const [a, b] = samples[u]!.map((list) => median(list.map((x) => x.cpuPerRequest)));
        rows[u]!.push(`${ratio(a!, healthz[0]!)} / ${ratio(b!, healthz[1]!)}`);
      } else rows[u]!.push('');
    printTable(
      `A = ${rootA}, B = ${rootB}: medians of ${ROUNDS} alternated rounds, ${SECONDS} s each, ${CONNECTIONS} connections; load average ${load.join(' ')} at end`,
      [
        'endpoint',
        'A req/s',
        'B req/s',
        'A CPU/req',
        'B CPU/req',
        'B/A CPU',
        'non-2xx A / B',
        'CPU / healthz A / B',
      ],
      rows,
    );
  } finally {
    for (const server of servers) await server.stop();
    for (const remove of removers) remove();
  }
}

await main();
