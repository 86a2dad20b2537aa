import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/harness.ts';
import { onInterrupt, removeContainersSync } from './interrupt-cleanup.ts';
import { progress } from './report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A JSON answer from the API. */
export interface ApiResponse {
  status: number;
  body: any;
}

/**
 * A real `gantry serve` child process on a fresh temporary data directory, reached over loopback like
 * any client would. Benchmarks measure this process (its pid gives the RSS), not an in-process server
 * that would share the load generator's event loop.
 */
export interface GantryServer {
  pid: number;
  baseUrl: string;
  token: string;
  dataDir: string;
  /** The `gantry.instance` label Gantry puts on its containers (the id it wrote to `<dataDir>/instance-id`). */
  instanceLabel: string;
  request(method: string, url: string, body?: unknown): Promise<ApiResponse>;
  /** SIGTERM, wait for the exit, remove the data directory. */
  stop(): Promise<void>;
}

/** Resolves with what the server wrote on stderr before its banner. */
function waitForBanner(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => fail(new Error(`gantry serve did not start within ${timeoutMs} ms:\n${out}${err}`)),
      timeoutMs,
    );
    const fail = (e: Error): void => {
      clearTimeout(timer);
      reject(e);
    };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Gantry is running.')) {
        clearTimeout(timer);
        resolve(err);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => fail(new Error(`gantry serve exited with ${code}:\n${out}${err}`)));
  });
}

/**
 * Starts `node bin/gantry.js serve` on a temp data dir and a free loopback port, with the node options a
 * production start uses (those on bin/gantry.js's #! line, which `node bin/gantry.js` would skip). `nodeArgs`
 * go to node as well, by default from BENCH_GANTRY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to
 * see where a slow benchmark spends its time); `serveArgs` go to `serve`.
 */
export async function startGantryServer(
  options: {
    nodeArgs?: string[];
    serveArgs?: string[];
    /** The checkout whose bin/gantry.js runs (default: this one; bench/api-ab.ts compares two). */
    root?: string;
    /** More environment for the server (e.g. GANTRY_DATABASE_URL, GANTRY_SECRET_KEY_FILE). */
    env?: Record<string, string>;
    /** The admin token, for a server joining a database whose admin another server created. */
    token?: string;
  } = {},
): Promise<GantryServer> {
  const root = options.root ?? ROOT;
  progress('starting gantry serve');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...serveCommand(root, dataDir, port, options.nodeArgs ?? nodeArgsFromEnv()),
      '--log-level',
      'warn',
      ...(options.serveArgs ?? []),
    ],
    // No nosuid mount of the pipelines directory: a bench killed midway would leave it behind.
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GANTRY_NOSUID_PIPELINES: 'false', ...options.env },
    },
  );
  let early: string;
  try {
    early = await waitForBanner(child, 120_000);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  // bin/gantry.js says so when it falls back to the sources: the numbers are then not the compiled server's.
  if (early.includes('running the sources with tsx'))
    process.stderr.write(
      'bench: WARNING: dist/ is missing or stale, measuring the sources through tsx (npm run build)\n',
    );
  // Keep draining its output so a chatty server never blocks on a full pipe; warnings go to our stderr.
  child.stdout!.resume();
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[gantry] ${d.toString()}`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The server wrote its id at start (src/engine/instance-id.ts).
  const instanceLabel = readFileSync(path.join(dataDir, 'instance-id'), 'utf8').trim();
  const forget = onInterrupt(() => {
    child.kill('SIGKILL');
    removeContainersSync(`gantry.instance=${instanceLabel}`);
    rmSync(dataDir, { recursive: true, force: true });
  });
  const token = options.token ?? readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    pid: child.pid!,
    baseUrl,
    token,
    dataDir,
    instanceLabel,
    async request(method, url, body) {
      const res = await fetch(baseUrl + url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = null;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { status: res.status, body: parsed };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dataDir, { recursive: true, force: true });
      forget();
    },
  };
}

/**
 * Node's arguments for `bin/gantry.js serve` of checkout `root` on `dataDir` and loopback `port`, with the
 * node options a production start uses (productionNodeArgs) and `nodeArgs` after them; more `serve` flags
 * may follow.
 */
export function serveCommand(root: string, dataDir: string, port: number, nodeArgs: string[] = []): string[] {
  return [
    ...productionNodeArgs(root),
    ...nodeArgs,
    'bin/gantry.js',
    'serve',
    '--data-dir',
    dataDir,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
  ];
}

/**
 * The node options of bin/gantry.js's #! line (`#!/usr/bin/env -S node --max-semi-space-size=4`): they
 * shape the server's memory (young generation size), so a benchmark's RSS must be measured with them.
 */
export function productionNodeArgs(root: string): string[] {
  const shebang = readFileSync(path.join(root, 'bin/gantry.js'), 'utf8').split('\n', 1)[0]!;
  const words = shebang.replace(/^#!/, '').trim().split(/\s+/);
  const node = words.indexOf('node');
  return node < 0 ? [] : words.slice(node + 1);
}

function nodeArgsFromEnv(): string[] {
  return (process.env.BENCH_GANTRY_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
}

/** Throws unless the answer has the expected status; returns its body. */
export function expectStatus(res: ApiResponse, status: number, what: string): ApiResponse['body'] {
  if (res.status !== status)
    throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  return res.body;
}
