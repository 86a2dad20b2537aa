import { existsSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { InlineVariable } from '../domain/pipeline.ts';
import type { ExecutionStatus } from '../domain/status.ts';
import { LogWriter } from '../engine/log-store.ts';
import type { RunnerPeer, StepResult, Workload } from '../engine/runner-peer.ts';
import { runGit } from '../repo/index.ts';
import type { RegistryAuth } from '../runtime/container-runtime.ts';
import { LeaseLost, type WorkerClient } from './client.ts';
import { packageMountAt, type PinnedFiles } from '../engine/package-pin.ts';
import { PACKAGE_FORMAT_HEADER, PACKAGE_SHA256_HEADER } from '../engine/worker-wire.ts';
import { PackageFiles } from '../packages/package-files.ts';
import { ArchiveError } from '../packages/safe-extract.ts';

/** Biggest log chunk sent in one request. */
const CHUNK_BYTES = 512 * 1024;

/**
 * Ships one step's log to the server: the runner writes (masked, whole lines) to a spool file on the
 * worker, and the shipper sends what is new from the byte offset the server last confirmed. A chunk a
 * retry repeats is cut by the server; a server that restarted, or another server that never saw the
 * log's beginning, says how much it has and the shipper goes on from there, so nothing is lost or
 * doubled.
 */
class LogShipper {
  private shipped = 0;
  /** Bytes of whole lines the writer handed to the spool file (the last ones may not be on disk yet). */
  handed = 0;
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private dead = false;
  /** A refusal other than 409 (a bug): the step's close reports it. */
  private failure: unknown = null;

  constructor(
    private readonly client: WorkerClient,
    private readonly executionId: number,
    private readonly stepId: string,
    readonly file: string,
    private readonly onLeaseLost: (reason: string) => void,
  ) {}

  /** Something was written: ship it soon (batched). */
  poke(): void {
    if (this.scheduled || this.dead) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.chain = this.chain.then(() => this.shipAll()).catch(() => undefined);
    }, 200).unref();
  }

  /** Ships everything written so far (the writer is closed); resolves once the server has it. */
  async flush(): Promise<void> {
    this.chain = this.chain.then(() => this.shipAll()).catch(() => undefined);
    await this.chain;
    this.dead = true;
    if (this.failure !== null) throw this.failure;
  }

  /** The server that takes the step's end holds only `size` bytes of its log: sends it the rest. */
  async resendFrom(size: number): Promise<void> {
    await this.chain;
    this.shipped = Math.min(size, this.shipped);
    this.dead = false;
    await this.flush();
  }

  /** The step's end was taken: the spool goes. */
  async discard(): Promise<void> {
    this.dead = true;
    await this.chain;
    await rm(this.file, { force: true });
    await rm(this.file + '.idx', { force: true });
  }

  private async shipAll(): Promise<void> {
    while (!this.dead && (await this.shipOnce()));
    // Lines handed to the file that were not on disk yet when it was read: look again soon, or a
    // quiet action (one line, then a long sleep) would hold them back until it writes again.
    if (this.shipped < this.handed) this.poke();
  }

  private async shipOnce(): Promise<boolean> {
    const handle = await open(this.file, 'r').catch(() => null);
    if (!handle) return false;
    let chunk: Buffer;
    try {
      const buf = Buffer.alloc(CHUNK_BYTES);
      const { bytesRead } = await handle.read(buf, 0, CHUNK_BYTES, this.shipped);
      const end = buf.subarray(0, bytesRead).lastIndexOf(10);
      if (end < 0) return false;
      chunk = buf.subarray(0, end + 1);
    } finally {
      await handle.close();
    }
    try {
      const res = await this.client.call<{ size: number }>(
        'POST',
        `/executions/${this.executionId}/steps/${this.stepId}/log`,
        { body: chunk, query: { offset: String(this.shipped) } },
      );
      const size = res?.size ?? this.shipped;
      if (size === this.shipped) return false;
      this.shipped = size;
      return true;
    } catch (err) {
      this.dead = true;
      if (err instanceof LeaseLost) this.onLeaseLost(err.message);
      else this.failure = err;
      return false;
    }
  }
}

/**
 * A log writer whose file is a spool the shipper sends on; closing it waits until the server has it
 * all. The spool stays until the server took the step's end (it may ask for the log again).
 */
class ShippingLogWriter extends LogWriter {
  constructor(private readonly shipper: LogShipper) {
    super(shipper.file, (bytes) => {
      shipper.handed += bytes;
      shipper.poke();
    });
  }

  override async close(): Promise<void> {
    await super.close();
    await this.shipper.flush();
  }
}

/**
 * The runner port over HTTP, on a worker: the same runner code (runExecution) reports through it as
 * through the server's in-process peer. A report the server refuses with 409 (the execution is no
 * longer this worker's: its lease was taken, or it was ended) stops the execution on the worker and
 * is otherwise dropped; a server that does not answer is retried, on another server if there is one.
 */
export class RemoteRunnerPeer implements RunnerPeer {
  private readonly fetching = new Map<number, Promise<void>>();
  /** The log shippers of steps whose end the server has not taken yet, by action execution id. */
  private readonly shippers = new Map<string, LogShipper>();
  /** The pruning of package copies under way (or the last one): a fetch waits for it (prunePackages). */
  private pruning: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: WorkerClient,
    private readonly dataDir: string,
    /** Workloads handed over by the server, by execution id, and how to stop each. */
    private readonly works: ReadonlyMap<number, { work: Workload; abort: (reason: string) => void }>,
    private readonly logger: Logger,
  ) {}

  /**
   * The server already claimed it for this worker (POST /next); this hands over the workload, with the
   * pinned package version's files fetched first. A fetch that fails ends the execution FAILED,
   * saying why, before anything runs.
   */
  async claim(executionId: number): Promise<Workload | null> {
    const work = this.works.get(executionId)?.work ?? null;
    if (!work?.pinnedPackage) return work;
    const pin = work.pinnedPackage;
    try {
      work.notes.push(await this.fetchPackage(work, pin));
      return work;
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.lost(executionId, err.message);
        return null;
      }
      await this.done(
        executionId,
        'FAILED',
        `fetching package ${pin.identifier}:${pin.version} from the server failed: ${(err as Error).message}`,
      );
      return null;
    }
  }

  /**
   * Puts the pinned version's files where a server's local runner has them (`<dataDir>/packages/<package
   * id>/<version id>`, mounted read-only), fetched from the server (only for an execution this worker
   * holds) unless an earlier run left them; the archive is checked against its size and sha256 and
   * unpacked with the same checks as an upload. Returns the line the log starts with.
   */
  private async fetchPackage(work: Workload, pin: PinnedFiles): Promise<string> {
    const files = new PackageFiles(this.dataDir);
    const name = `${pin.identifier}:${pin.version}`;
    const mount = packageMountAt(pin, files.versionDir(pin.packageId, pin.versionId));
    // A copy being pruned is gone once the pruning ends; this execution already counts as a user of its
    // version, so a pruning that starts from now on keeps it.
    await this.pruning;
    if (await files.hasVersion(pin.packageId, pin.versionId)) {
      await files.markUsed(pin.packageId, pin.versionId);
      work.packageMount = mount;
      return `Package ${name}: files already on this worker (fetched for an earlier run)`;
    }
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.client.download(`/executions/${work.executionId}/package`, {
        timeoutMs: 30 * 60_000,
      });
      const sha256 = res.headers.get(PACKAGE_SHA256_HEADER) ?? '';
      const format = res.headers.get(PACKAGE_FORMAT_HEADER);
      const size = Number(res.headers.get('content-length'));
      if (!/^[0-9a-f]{64}$/.test(sha256) || (format !== 'tar' && format !== 'tar.gz') || !(size >= 0)) {
        await res.cancel();
        throw new Error('the server sent the archive without its sha256, format or size');
      }
      try {
        const body = res.body;
        const { entries } = await files.unpack(
          pin.packageId,
          pin.versionId,
          { sha256, size, format },
          () => body,
        );
        await res.cancel().catch(() => undefined);
        await files.markUsed(pin.packageId, pin.versionId);
        work.packageMount = mount;
        return `Package ${name}: fetched from ${res.server}, ${size} bytes (${format}, sha256 ${sha256.slice(0, 16)}…), ${entries} entries unpacked on this worker`;
      } catch (err) {
        await res.cancel().catch(() => undefined);
        // A bad archive will not get better; a transfer cut short may.
        if (err instanceof ArchiveError && !/arrived as/.test(err.message)) throw err;
        lastError = err;
        this.logger.warn(
          { execution: work.executionId, err: (err as Error).message },
          'package fetch failed',
        );
      }
    }
    throw lastError as Error;
  }

  /**
   * Removes the package versions this worker unpacked and has not used for `keepMs` (a version deleted
   * on the server is never used again; one still wanted is fetched again when a run needs it). A version
   * pinned by an execution this worker holds stays. Returns how many were removed.
   */
  prunePackages(keepMs: number): Promise<number> {
    const run = this.pruning.then(() => this.pruneUnused(keepMs));
    this.pruning = run.catch(() => undefined);
    return run;
  }

  private async pruneUnused(keepMs: number): Promise<number> {
    const files = new PackageFiles(this.dataDir);
    let removed = 0;
    for (const v of await files.unusedSince(new Date(Date.now() - keepMs))) {
      // Every execution handed over is in `works` before it fetches, so this sees each user.
      const inUse = [...this.works.values()].some(
        ({ work }) => work.pinnedPackage?.versionId === v.versionId,
      );
      if (inUse) continue;
      await files.removeVersion(v.packageId, v.versionId);
      removed++;
    }
    return removed;
  }

  private lost(executionId: number, reason: string): void {
    this.logger.warn({ execution: executionId, reason }, 'the server took the execution back');
    this.works.get(executionId)?.abort(`the worker lost the execution: ${reason}`);
  }

  /** Sends a report; a 409 stops the execution here instead of failing the runner. */
  private async report<T>(
    executionId: number,
    method: string,
    route: string,
    json?: unknown,
  ): Promise<T | null> {
    try {
      return await this.client.call<T>(
        method,
        `/executions/${executionId}${route}`,
        json === undefined ? {} : { json },
      );
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      this.lost(executionId, err.message);
      return null;
    }
  }

  /**
   * The worker's own bare mirror of the project, fetched from the server (GET .../git, the WORKER
   * token and session in headers) when it lacks the revision. Servers keep every repository's
   * credentials: the worker only ever talks to them.
   */
  async source(work: Workload): Promise<string> {
    const mirror = path.join(this.dataDir, 'repositories', `${work.projectId}.git`);
    const previous = this.fetching.get(work.projectId) ?? Promise.resolve();
    const fetched = previous.catch(() => undefined).then(() => this.fetch(mirror, work));
    this.fetching.set(work.projectId, fetched);
    await fetched;
    return mirror;
  }

  private async fetch(mirror: string, work: Workload): Promise<void> {
    if (!existsSync(path.join(mirror, 'HEAD'))) {
      await mkdir(mirror, { recursive: true });
      await runGit(['init', '--quiet', '--bare', mirror]);
    }
    const present = await runGit(['--git-dir', mirror, 'cat-file', '-e', `${work.revision}^{commit}`], {
      okCodes: [1, 128],
    });
    if (present.exitCode === 0) return;
    const headers = Object.entries(this.client.headers()).map(([k, v]) => `${k}: ${v}`);
    const env: Record<string, string> = { GIT_CONFIG_COUNT: String(headers.length) };
    headers.forEach((h, i) => {
      env[`GIT_CONFIG_KEY_${i}`] = 'http.extraHeader';
      env[`GIT_CONFIG_VALUE_${i}`] = h;
    });
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 6; attempt++) {
      const server = this.client.server;
      const url = `${server}/api/workers/executions/${work.executionId}/git/repo.git`;
      try {
        await runGit(
          ['--git-dir', mirror, 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', url, work.revision],
          { env, secrets: headers },
        );
        return;
      } catch (err) {
        lastError = err;
        this.client.failover(server);
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 5000)));
      }
    }
    throw lastError as Error;
  }

  async stepStarted(executionId: number, stepId: string, passed: InlineVariable[]): Promise<void> {
    await this.report(executionId, 'POST', `/steps/${stepId}/started`, { passed });
  }

  /**
   * Reports a step's end with the size of its log. A server that holds less of the log (another
   * server received it, or this one died before the last chunk reached its file) answers how much it
   * has: the rest goes to it and the end is reported again.
   */
  async stepEnded(executionId: number, stepId: string, r: StepResult): Promise<void> {
    const shipper = this.shippers.get(stepId);
    try {
      for (let round = 0; ; round += 1) {
        const res = await this.report<{ log_size?: number }>(executionId, 'POST', `/steps/${stepId}/ended`, {
          status: r.status,
          error: r.error,
          outputs: r.outputs,
          log_lines: r.logLines,
          log_bytes: shipper?.handed ?? 0,
        });
        if (res?.log_size === undefined || !shipper) return;
        if (round >= 20) throw new Error(`the servers keep losing the log of action execution ${stepId}`);
        this.logger.warn(
          { execution: executionId, step: stepId, has: res.log_size, of: shipper.handed },
          'the server lacks part of the log: sending it again',
        );
        await shipper.resendFrom(res.log_size);
      }
    } finally {
      if (shipper) {
        this.shippers.delete(stepId);
        await shipper.discard();
      }
    }
  }

  async stepsSkipped(
    executionId: number,
    stepIds: string[],
    status: 'SKIPPED' | 'NOT_EXECUTED',
  ): Promise<void> {
    if (stepIds.length === 0) return;
    await this.report(executionId, 'POST', '/skipped', { step_ids: stepIds, status });
  }

  async containerChanged(stepId: string, containerId: string | null): Promise<void> {
    const executionId = this.executionOfStep(stepId);
    if (executionId === null) return;
    await this.report(executionId, 'POST', `/steps/${stepId}/container`, { container_id: containerId });
  }

  private executionOfStep(stepId: string): number | null {
    for (const [id, { work }] of this.works) if (work.steps.some((s) => s.id === stepId)) return id;
    return null;
  }

  openLog(stepId: string): LogWriter {
    const executionId = this.executionOfStep(stepId) ?? 0;
    const file = path.join(this.dataDir, 'spool', `${stepId}.log`);
    const shipper = new LogShipper(this.client, executionId, stepId, file, (reason) =>
      this.lost(executionId, reason),
    );
    this.shippers.set(stepId, shipper);
    return new ShippingLogWriter(shipper);
  }

  async registryAuth(
    _workspaceId: number,
    identifier: string,
    user: { projectId: number; pipelineId: number },
  ): Promise<RegistryAuth | null> {
    // The server finds the workspace, project and pipeline from the execution itself.
    const executionId = [...this.works].find(([, w]) => w.work.pipelineId === user.pipelineId)?.[0];
    if (executionId === undefined) return null;
    const res = await this.report<{ auth: RegistryAuth | null }>(executionId, 'POST', '/registry_auth', {
      identifier,
    });
    return res?.auth ?? null;
  }

  async updateSettable(
    executionId: number,
    storedId: number,
    value: string,
    encrypted?: boolean,
  ): Promise<void> {
    await this.report(executionId, 'POST', '/settable', {
      stored_id: storedId,
      value,
      encrypted: encrypted === true,
    });
  }

  async awaitApproval(executionId: number, stepId: string, question: string | null): Promise<boolean> {
    const res = await this.report<{ waiting: boolean }>(executionId, 'POST', `/steps/${stepId}/waiting`, {
      question,
    });
    return res?.waiting === true;
  }

  async previousStatus(executionId: number): Promise<ExecutionStatus | null> {
    const res = await this.report<{ status: ExecutionStatus | null }>(executionId, 'GET', '/previous_status');
    return res?.status ?? null;
  }

  async done(
    executionId: number,
    status: 'SUCCESSFUL' | 'FAILED' | 'TERMINATED',
    error: string | null,
  ): Promise<void> {
    await this.report(executionId, 'POST', '/done', { status, error });
  }
}
