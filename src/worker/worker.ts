import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { localCpu } from '../domain/worker-routing.ts';
import type { RunnerEnvironment } from '../engine/action-step.ts';
import { runExecution } from '../engine/execution-runner.ts';
import type { Workload } from '../engine/runner-peer.ts';
import { fromWire, TransitBox, type WireWorkload } from '../engine/worker-wire.ts';
import { GANTRY_VERSION } from '../ops/version.ts';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import { LeaseLost, WorkerClient } from './client.ts';
import { RemoteRunnerPeer } from './remote-peer.ts';

export interface WorkerOptions {
  /** Server base URLs (any of them; they share one database). */
  servers: string[];
  token: string;
  name: string;
  tags: string[];
  concurrency: number;
  dataDir: string;
  runtime: ContainerRuntime;
  networkMode: string;
  cancelGraceSeconds: number;
  /** Unpacked package versions not used for this many days are removed (at start and every hour). */
  packageKeepDays: number;
  logger: Logger;
}

/** How often a worker looks for package copies it has not used for `packageKeepDays`. */
const PACKAGE_PRUNE_INTERVAL_MS = 3600_000;

interface Running {
  work: Workload;
  abort: (reason: string) => void;
  done: Promise<void>;
}

/**
 * `gantry worker`: takes executions from the servers (long-poll), runs them with the same runner code
 * as a server's local runner against its own Docker engine and data directory, streams logs back and
 * heartbeats. Its containers carry its own instance label, so its sweeps never touch another's.
 */
export class GantryWorker {
  readonly client: WorkerClient;
  private readonly running = new Map<number, Running>();
  private readonly peer: RemoteRunnerPeer;
  private readonly env: RunnerEnvironment;
  /** Aborted when the worker stops taking work (first SIGTERM). */
  private readonly stopTaking = new AbortController();
  /** Aborted when the worker stops heartbeating (at the very end). */
  private readonly stopAll = new AbortController();
  private registering: Promise<void> | null = null;
  private loops: Promise<void>[] = [];
  private slotFreed: (() => void) | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  readonly instanceLabel: string;

  constructor(private readonly o: WorkerOptions) {
    this.client = new WorkerClient(o.servers, o.token, o.logger);
    mkdirSync(o.dataDir, { recursive: true });
    this.instanceLabel = createHash('sha256')
      .update(`worker\0${o.name}\0${path.resolve(o.dataDir)}`)
      .digest('hex')
      .slice(0, 16);
    this.env = {
      runtime: o.runtime,
      networkMode: o.networkMode,
      cancelGraceSeconds: o.cancelGraceSeconds,
      dataDir: o.dataDir,
      instanceLabel: this.instanceLabel,
    };
    this.peer = new RemoteRunnerPeer(this.client, o.dataDir, this.running, o.logger);
  }

  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Registers, removes containers and log spools a previous process of this worker left, and starts
   * taking work.
   */
  async start(): Promise<void> {
    // Logs a previous process of this worker was shipping: their executions ended without it.
    rmSync(path.join(this.o.dataDir, 'spool'), { recursive: true, force: true });
    await this.register();
    for (const c of await this.o.runtime.listContainers({ 'gantry.instance': this.instanceLabel })) {
      await this.o.runtime.removeContainer(c.id);
      this.o.logger.warn({ container: c.id }, 'removed a container left by a previous run of this worker');
    }
    this.loops = [this.heartbeatLoop(), this.claimLoop()];
    void this.prunePackages();
    this.pruneTimer = setInterval(() => void this.prunePackages(), PACKAGE_PRUNE_INTERVAL_MS).unref();
  }

  /** Removes the package copies not used for `packageKeepDays` (RemoteRunnerPeer.prunePackages). */
  async prunePackages(): Promise<number> {
    try {
      const removed = await this.peer.prunePackages(this.o.packageKeepDays * 24 * 3600_000);
      if (removed > 0)
        this.o.logger.info(
          { removed, keepDays: this.o.packageKeepDays },
          'removed package versions this worker has not used lately',
        );
      return removed;
    } catch (err) {
      this.o.logger.warn({ err }, 'removing unused package versions failed');
      return 0;
    }
  }

  /** A new session (at start, and after the lease was lost). */
  private register(): Promise<void> {
    this.registering ??= (async () => {
      this.client.session = null;
      const res = await this.client.call<{ session: string; lease_seconds: number }>('POST', '/register', {
        json: {
          name: this.o.name,
          tags: this.o.tags,
          cpu: localCpu(),
          concurrency: this.o.concurrency,
          version: GANTRY_VERSION,
        },
        signal: this.stopAll.signal,
      });
      this.client.session = res!.session;
      this.o.logger.info({ server: this.client.server, name: this.o.name }, 'registered with the server');
    })().finally(() => {
      this.registering = null;
    });
    return this.registering;
  }

  /** The server took this worker's lease: whatever runs here is no longer ours; stop it, then register again. */
  private async leaseLost(message: string): Promise<void> {
    this.o.logger.error({ reason: message }, 'lease lost: stopping every execution of this worker');
    for (const r of this.running.values()) r.abort(`the worker lost its lease: ${message}`);
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.register();
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopAll.signal.aborted) {
      try {
        const res = await this.client.call<{ abort: { execution_id: number; reason: string }[] }>(
          'POST',
          '/heartbeat',
          { json: { running: [...this.running.keys()] }, signal: this.stopAll.signal, timeoutMs: 120_000 },
        );
        for (const order of res?.abort ?? []) this.running.get(order.execution_id)?.abort(order.reason);
      } catch (err) {
        if (this.stopAll.signal.aborted) return;
        if (err instanceof LeaseLost) await this.leaseLost(err.message).catch(() => undefined);
        else {
          this.o.logger.error({ err }, 'heartbeat refused');
          await new Promise((r) => setTimeout(r, 5000));
        }
      }
    }
  }

  private async claimLoop(): Promise<void> {
    const signal = this.stopTaking.signal;
    while (!signal.aborted) {
      if (this.running.size >= this.o.concurrency || this.registering) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, 1000);
          this.slotFreed = done;
          signal.addEventListener('abort', done, { once: true });
        });
        continue;
      }
      try {
        const wire = await this.client.call<WireWorkload>('POST', '/next', { signal, timeoutMs: 120_000 });
        if (wire) this.launch(wire);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof LeaseLost) await this.leaseLost(err.message).catch(() => undefined);
        else {
          this.o.logger.error({ err }, 'asking for work was refused');
          await new Promise((r) => setTimeout(r, 5000));
        }
      }
    }
  }

  private launch(wire: WireWorkload): void {
    const work = fromWire(wire, new TransitBox());
    const id = work.executionId;
    const abort = new AbortController();
    this.o.logger.info({ execution: id, pipeline: work.pipelineId }, 'running an execution');
    const entry: Running = {
      work,
      abort: (reason) => abort.abort(reason),
      done: Promise.resolve(),
    };
    this.running.set(id, entry);
    entry.done = runExecution(this.env, this.peer, id, abort.signal)
      .catch(async (err: unknown) => {
        this.o.logger.error({ err, execution: id }, 'execution crashed on the worker');
        await this.peer
          .done(id, 'FAILED', `internal error on worker "${this.o.name}": ${(err as Error).message}`)
          .catch(() => undefined);
      })
      .finally(async () => {
        // Whatever the runner left (it was stopped mid-step) goes with the execution.
        const left = await this.o.runtime
          .listContainers({ 'gantry.instance': this.instanceLabel, 'gantry.execution': String(id) })
          .catch(() => []);
        for (const c of left) await this.o.runtime.removeContainer(c.id).catch(() => undefined);
        this.running.delete(id);
        this.o.logger.info({ execution: id }, 'execution ended');
        this.slotFreed?.();
      });
  }

  /**
   * Graceful stop: takes no more work, lets what runs finish (up to `timeoutMs`, or until `hurry`
   * aborts), then terminates the rest with `reason` and gives up the lease.
   */
  async stop(timeoutMs: number, reason: string, hurry?: AbortSignal): Promise<void> {
    this.stopTaking.abort();
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      all,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        hurry?.addEventListener('abort', () => resolve(), { once: true });
      }),
    ]);
    clearTimeout(timer);
    for (const r of this.running.values()) r.abort(reason);
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.stopAll.abort();
    await Promise.allSettled(this.loops);
    if (this.client.session) {
      await this.client
        .call('POST', '/unregister', { signal: AbortSignal.timeout(5000) })
        .catch(() => undefined);
    }
  }
}
