import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { ContainerRuntime } from '../../src/runtime/container-runtime.ts';
import { createGantry, type Gantry } from '../../src/server.ts';
import type { DispatcherOptions } from '../../src/triggers/webhook-dispatcher.ts';
import { readFileSync } from 'node:fs';
import { createTestDatabase } from './database.ts';
import { rememberInstanceLabel } from './instance-label.ts';
import { tempDirForProcess } from './temp-dirs.ts';

/** A free TCP port on loopback. */
/**
 * For servers the tests spawn: no nosuid mount of the pipelines directory. A test data directory is
 * removed afterwards, and a server killed with SIGKILL would leave the mount behind, making the
 * directory impossible to remove (EBUSY). test/integration/container-privileges.test.ts turns it on.
 */
export const NO_MOUNTS = { GANTRY_NOSUID_PIPELINES: 'false' };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Response {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}

export interface Harness {
  gantry: Gantry;
  dataDir: string;
  /** The server's `databaseUrl` ('' = SQLite in dataDir); the suite's database kind decides (test/support/database.ts). */
  databaseUrl: string;
  token: string;
  baseUrl: string;
  /** In-process request through Fastify's inject; JSON in and out. */
  request(
    method: string,
    url: string,
    body?: unknown,
    options?: { token?: string | null; raw?: string | Buffer; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Stops the server (data kept) and starts it again on the same data directory. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a real Gantry (SQLite file, real Docker engine, real git) on a fresh temporary data
 * directory. `listen` also serves it on a loopback port, for clients like git.
 */
export async function startGantry(
  options: {
    listen?: boolean;
    config?: Partial<Config>;
    dataDir?: string;
    runtime?: ContainerRuntime;
    webhookDispatch?: Partial<DispatcherOptions>;
  } = {},
): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'gantry-test-'));
  const port = options.listen ? await freePort() : 8080;
  // A database of the suite's kind unless the test names one: the data directory's, so that a server
  // started again on it finds its data; dropped on close with a data directory the harness made.
  const database = options.config?.databaseUrl === undefined ? await createTestDatabase(dataDir) : null;
  const config = loadConfig({
    flags: {
      dataDir,
      port,
      logLevel: 'silent',
      cancelGraceSeconds: 2,
      maxConcurrentExecutions: 2,
      // Test repositories are local directories in the temporary directory.
      allowedRepositoryRoots: [tmpdir()],
      // No background fetches of test repositories unless a test asks for polling.
      repositoryPollSeconds: 0,
      nosuidPipelines: false, // see NO_MOUNTS
      ...(database ? { databaseUrl: database.url } : {}),
      ...options.config,
    },
  });
  const runtime = options.runtime;
  const extra = {
    checkResponseSchemas: true,
    ...(runtime ? { runtime } : {}),
    ...(options.webhookDispatch ? { webhookDispatch: options.webhookDispatch } : {}),
  };
  let gantry = await createGantry(config, { logger: false, ...extra });
  rememberInstanceLabel(dataDir, gantry.engine.instanceLabel);
  if (options.listen) await gantry.app.listen({ host: '127.0.0.1', port });
  const token = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  const h: Harness = {
    get gantry() {
      return gantry;
    },
    dataDir,
    databaseUrl: config.databaseUrl,
    token,
    baseUrl: config.publicUrl,
    async request(method, url, body, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const tok = opts.token === undefined ? token : opts.token;
      if (tok) headers.authorization = `Bearer ${tok}`;
      let payload: string | Buffer | undefined;
      if (opts.raw !== undefined) payload = opts.raw;
      else if (body !== undefined) payload = JSON.stringify(body);
      if (payload !== undefined) headers['content-type'] ??= 'application/json';
      const res = await gantry.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(payload !== undefined ? { payload } : {}),
      });
      let parsed: unknown = null;
      if (res.body !== '') {
        try {
          parsed = JSON.parse(res.body);
        } catch {
          parsed = res.body;
        }
      }
      return { status: res.statusCode, body: parsed, headers: res.headers };
    },
    async restart() {
      await gantry.close();
      gantry = await createGantry(config, { logger: false, ...extra });
      rememberInstanceLabel(dataDir, gantry.engine.instanceLabel);
      if (options.listen) await gantry.app.listen({ host: '127.0.0.1', port });
    },
    async close() {
      await gantry.close();
      if (!options.dataDir) await database?.drop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Mike',
  GIT_AUTHOR_EMAIL: 'mike@company.com',
  GIT_COMMITTER_NAME: 'Mike',
  GIT_COMMITTER_EMAIL: 'mike@company.com',
  GIT_TERMINAL_PROMPT: '0',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=master', '-c', 'credential.helper=', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
  }).trim();
}

/** A local repository with one commit per entry of `commits` (file path → content; null deletes). Returns its path and SHAs. */
export function makeRepo(
  commits: {
    message: string;
    files: Record<string, string | null>;
    symlinks?: Record<string, string>;
    branch?: string;
  }[],
): { dir: string; shas: string[] } {
  const dir = tempDirForProcess('gantry-repo-');
  git(dir, 'init', '-q');
  const shas: string[] = [];
  for (const c of commits) {
    if (c.branch) git(dir, 'checkout', '-q', '-B', c.branch);
    for (const [file, content] of Object.entries(c.files)) {
      const full = path.join(dir, file);
      if (content === null) rmSync(full, { force: true });
      else {
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    for (const [link, target] of Object.entries(c.symlinks ?? {}))
      execFileSync('ln', ['-sfn', target, path.join(dir, link)]);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '--allow-empty', '-m', c.message);
    shas.push(git(dir, 'rev-parse', 'HEAD'));
  }
  return { dir, shas };
}

export const TEST_IMAGE = { docker_image_name: 'gantry-test/busybox', docker_image_tag: 'latest' };

/** Creates workspace "ws", a project on `repoDir` (custom_repo_url) and a pipeline; returns their API paths. */
export async function setupPipeline(
  h: Harness,
  repoDir: string,
  pipeline: Record<string, unknown> = {},
): Promise<{ projectPath: string; pipelinePath: string; pipelineId: number }> {
  const ws = await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' });
  if (ws.status !== 201 && ws.status !== 409) throw new Error(`workspace: ${JSON.stringify(ws.body)}`);
  const name = `p${Math.random().toString(36).slice(2, 8)}`;
  const project = await h.request('POST', '/api/workspaces/ws/projects', {
    display_name: name,
    name,
    custom_repo_url: repoDir,
  });
  if (project.status !== 201) throw new Error(`project: ${JSON.stringify(project.body)}`);
  const projectPath = `/api/workspaces/ws/projects/${name}`;
  const p = await h.request('POST', `${projectPath}/pipelines`, { name: 'Tests', ...pipeline });
  if (p.status !== 201) throw new Error(`pipeline: ${JSON.stringify(p.body)}`);
  return { projectPath, pipelinePath: `${projectPath}/pipelines/${p.body.id}`, pipelineId: p.body.id };
}

export async function addAction(
  h: Harness,
  pipelinePath: string,
  action: Record<string, unknown>,
): Promise<any> {
  const res = await h.request('POST', `${pipelinePath}/actions`, {
    type: 'RUN_DOCKER_CONTAINER',
    ...TEST_IMAGE,
    inline_commands: 'true',
    ...action,
  });
  if (res.status !== 201) throw new Error(`action: ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Polls an execution until it reaches a final status (or `timeoutMs` passes) and returns it. Generous by
 * default, like waitFor: files run side by side on a shared machine.
 */
export async function waitForExecution(
  h: Harness,
  executionPath: string,
  timeoutMs = 180_000,
  until: (e: any) => boolean = (e) => ['SUCCESSFUL', 'FAILED', 'TERMINATED', 'SKIPPED'].includes(e.status),
): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await h.request('GET', executionPath);
    if (res.status === 200 && until(res.body)) return res.body;
    if (Date.now() > end)
      throw new Error(`execution did not finish: ${JSON.stringify(res.body).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** All log lines of an action execution. */
export async function logsOf(
  h: Harness,
  executionPath: string,
  actionExecutionId: string,
): Promise<string[]> {
  const lines: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const res = await h.request(
      'GET',
      `${executionPath}/action_executions/${actionExecutionId}/logs?offset=${offset}&limit=1000`,
    );
    lines.push(...(res.body.logs as string[]));
    if (res.body.logs.length < 1000) return lines;
  }
}

/** The `--database-url` flag a CLI command needs to reach the same database as `h` (none on SQLite). */
export function databaseArgs(h: Harness): string[] {
  return h.databaseUrl === '' ? [] : ['--database-url', h.databaseUrl];
}
