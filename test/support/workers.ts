/**
 * Real processes for the remote-worker tests: `gantry serve` children (one data directory each, or a
 * shared database) and `gantry worker` children, all on the local Docker engine. Each worker labels its
 * containers with its own instance label, so the sweeps never cross.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, NO_MOUNTS, TEST_IMAGE } from './harness.ts';
import { removeContainersWith, removeDirs, waitFor } from './runs.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Proc {
  child: ChildProcess;
  output: () => string;
}

/** The `gantry.instance` label of a worker's containers (see src/worker/worker.ts). */
export function workerLabel(name: string, dataDir: string): string {
  return createHash('sha256')
    .update(`worker\0${name}\0${path.resolve(dataDir)}`)
    .digest('hex')
    .slice(0, 16);
}

function spawnGantry(args: string[], env: NodeJS.ProcessEnv): Proc {
  let out = '';
  const child = spawn(process.execPath, ['bin/gantry.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...NO_MOUNTS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/**
 * A test cluster: servers and workers it started, removed (processes SIGKILLed, containers and
 * directories deleted) by `cleanup()`.
 */
export class Cluster {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-workers-'));
  readonly configFile = path.join(this.dir, 'config.json');
  private readonly procs: Proc[] = [];
  private readonly workerDirs: { name: string; dir: string }[] = [];
  token = '';

  constructor(
    config: Record<string, unknown> = {},
    private readonly extraServerArgs: string[] = [],
  ) {
    // Short leases keep the failure tests short; still ten heartbeats per lease, so that a machine
    // under heavy load (2 cores shared by many) does not take a live worker's lease.
    writeFileSync(
      this.configFile,
      JSON.stringify({
        allowedRepositoryRoots: [os.tmpdir()],
        workerLeaseSeconds: 20,
        workerHeartbeatSeconds: 2,
        ...config,
      }),
    );
  }

  /** Starts `gantry serve` on `dataDir` and `port` and waits until its API answers. */
  async startServer(dataDir: string, port: number, args: string[] = []): Promise<Proc> {
    const p = spawnGantry(
      [
        'serve',
        '--data-dir',
        dataDir,
        '--port',
        String(port),
        '--log-level',
        'warn',
        ...this.extraServerArgs,
        ...args,
      ],
      { GANTRY_CONFIG: this.configFile },
    );
    this.procs.push(p);
    const tokenFile = path.join(dataDir, 'admin.token');
    await waitFor(
      `the server on port ${port} to start`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`server exited: ${p.output()}`);
        // A second server on the same database finds the admin already there: the first one's token.
        if (!this.token) {
          if (!existsSync(tokenFile)) return false;
          this.token = readFileSync(tokenFile, 'utf8').trim();
        }
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/workspaces`, {
            headers: { authorization: `Bearer ${this.token}` },
          });
          return res.status === 200;
        } catch {
          return false;
        }
      },
      90_000,
    );
    return p;
  }

  /** Starts `gantry worker` and waits for its banner (it registered). */
  async startWorker(
    name: string,
    servers: string[],
    options: { tags?: string[]; concurrency?: number; dataDir?: string; args?: string[] } = {},
  ): Promise<Proc & { dataDir: string }> {
    const dataDir = options.dataDir ?? path.join(this.dir, `worker-${name}`);
    if (!this.workerDirs.some((w) => w.dir === dataDir)) this.workerDirs.push({ name, dir: dataDir });
    const p = spawnGantry(
      [
        'worker',
        '--server',
        servers.join(','),
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--concurrency',
        String(options.concurrency ?? 1),
        '--tags',
        (options.tags ?? []).join(','),
        '--cancel-grace-seconds',
        '2',
        '--log-level',
        'info',
        '--log-format',
        'json',
        ...(options.args ?? []),
      ],
      { GANTRY_WORKER_TOKEN: this.token, GANTRY_CONFIG: '' },
    );
    this.procs.push(p);
    await waitFor(
      `worker ${name} to start`,
      () => {
        if (p.child.exitCode !== null) throw new Error(`worker exited: ${p.output()}`);
        return p.output().includes('is running');
      },
      90_000,
    );
    return { ...p, dataDir };
  }

  cleanup(): void {
    for (const p of this.procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const w of this.workerDirs) removeContainersWith(`gantry.instance=${workerLabel(w.name, w.dir)}`);
    removeDirs(this.dir);
  }
}

/** JSON over HTTP to a server with the cluster's admin token. */
export async function api(
  base: string,
  token: string,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/api${apiPath}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** An API call bound to one server and the cluster's token (see `api`). */
export type Call = (
  method: string,
  apiPath: string,
  body?: unknown,
) => Promise<{ status: number; body: any }>;

/** The end of what each process said, for a failure message. */
export function tailsOf(procs: Record<string, Proc | null | undefined>): string {
  return Object.entries(procs)
    .map(([name, proc]) => `--- ${name}:\n${(proc?.output() ?? '').slice(-4000)}`)
    .join('\n');
}

/** Starts a run of `pipelinePath` through `call`; returns the execution's API path. */
export async function startRun(call: Call, pipelinePath: string, body: unknown = {}): Promise<string> {
  const res = await call('POST', `${pipelinePath}/executions`, body);
  if (res.status !== 200) throw new Error(`run: ${res.status} ${JSON.stringify(res.body)}`);
  return `${pipelinePath}/executions/${res.body.id}`;
}

/** The execution once it has ended (any final status); a wait that fails says what `explain` returns. */
export async function ended(call: Call, executionPath: string, explain: () => string): Promise<any> {
  return waitFor(
    `${executionPath} to end`,
    async () => {
      const e = (await call('GET', executionPath)).body;
      return ['SUCCESSFUL', 'FAILED', 'TERMINATED', 'SKIPPED'].includes(e?.status) ? e : null;
    },
    120_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${explain()}`);
  });
}

/** Creates a pipeline with one RUN_DOCKER_CONTAINER action per command list; returns its API path. */
export async function pipelineWith(
  call: Call,
  project: string,
  fields: Record<string, unknown>,
  actions: string[],
): Promise<string> {
  const p = await call('POST', `/workspaces/ws/projects/${project}/pipelines`, fields);
  if (p.status !== 201) throw new Error(`pipeline: ${JSON.stringify(p.body)}`);
  const pipelinePath = `/workspaces/ws/projects/${project}/pipelines/${p.body.id}`;
  for (const [i, commands] of actions.entries()) {
    const a = await call('POST', `${pipelinePath}/actions`, {
      name: `step${i + 1}`,
      type: 'RUN_DOCKER_CONTAINER',
      ...TEST_IMAGE,
      inline_commands: commands,
    });
    if (a.status !== 201) throw new Error(`action: ${JSON.stringify(a.body)}`);
  }
  return pipelinePath;
}

export { freePort };
