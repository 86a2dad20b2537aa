import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { onInterrupt, removeContainersSync } from './interrupt-cleanup.ts';

/**
 * The baseline side of the container benchmarks: the Docker Engine API driven directly through dockerode,
 * doing what one Gantry action does (create, attach, start, wait, remove) and nothing else. Gantry's own
 * runtime is deliberately not used here so that the baseline cannot inherit its costs.
 */

/** What a container gets, mirroring the create request Gantry sends for a RUN_DOCKER_CONTAINER action. */
export interface RawContainerSpec {
  image: string;
  cmd: string[];
  workingDir: string;
  /** host:container bind strings. */
  binds: string[];
  labels: Record<string, string>;
  env: Record<string, string>;
  /** More HostConfig fields (Gantry's limits and no-new-privileges, to create the same containers). */
  hostConfig?: Partial<Docker.HostConfig>;
}

/** Milliseconds spent in each engine call of one container run. */
export interface RawRunTimings {
  create: number;
  attach: number;
  start: number;
  wait: number;
  remove: number;
  total: number;
}

export interface RawRun {
  exitCode: number;
  /** Payload bytes read from stdout + stderr (frame headers excluded). */
  outputBytes: number;
  timings: RawRunTimings;
}

/** Counts payload bytes of Docker's multiplexed attach stream (8-byte header per frame). */
function countPayload(stream: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let headerLeft = 8;
    let payloadLeft = 0;
    const header = Buffer.alloc(8);
    stream.on('data', (chunk: Buffer) => {
      let offset = 0;
      while (offset < chunk.length) {
        if (payloadLeft > 0) {
          const take = Math.min(payloadLeft, chunk.length - offset);
          bytes += take;
          payloadLeft -= take;
          offset += take;
          continue;
        }
        const take = Math.min(headerLeft, chunk.length - offset);
        chunk.copy(header, 8 - headerLeft, offset, offset + take);
        headerLeft -= take;
        offset += take;
        if (headerLeft === 0) {
          payloadLeft = header.readUInt32BE(4);
          headerLeft = 8;
        }
      }
    });
    stream.once('end', () => resolve(bytes));
    stream.once('close', () => resolve(bytes));
    stream.once('error', reject);
  });
}

export class RawDocker {
  readonly docker: Docker;
  /** Value of the `gantry.instance` label to put on baseline containers, so `dispose` finds them. */
  readonly instance = `bench-raw-${process.pid}`;
  /** A temporary directory to bind-mount, standing in for the pipeline filesystem. */
  readonly scratchDir: string;
  private readonly forget: () => void;

  constructor(socketPath = '/var/run/docker.sock') {
    this.docker = new Docker({ socketPath });
    this.scratchDir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-raw-'));
    const cleanup = (): void => {
      removeContainersSync(`gantry.instance=${this.instance}`);
      rmSync(this.scratchDir, { recursive: true, force: true });
    };
    this.forget = onInterrupt(cleanup);
  }

  /** Removes the scratch directory and any baseline container an error left behind. */
  async dispose(): Promise<void> {
    await this.removeLabelled(`gantry.instance=${this.instance}`);
    rmSync(this.scratchDir, { recursive: true, force: true });
    this.forget();
  }

  /** One container from create to remove, sequentially, as Gantry runs an action; output is counted and dropped. */
  async run(spec: RawContainerSpec): Promise<RawRun> {
    const t0 = performance.now();
    const container = await this.docker.createContainer({
      Image: spec.image,
      Cmd: spec.cmd,
      WorkingDir: spec.workingDir,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: 'none',
        Binds: spec.binds,
        AutoRemove: false,
        LogConfig: { Type: 'none', Config: {} },
        ...spec.hostConfig,
      },
    });
    const t1 = performance.now();
    const stream = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as Readable;
    const counted = countPayload(stream);
    const t2 = performance.now();
    await container.start();
    const t3 = performance.now();
    const result = (await container.wait()) as { StatusCode: number };
    const outputBytes = await counted;
    stream.destroy();
    const t4 = performance.now();
    await container.remove({ force: true, v: true });
    const t5 = performance.now();
    return {
      exitCode: result.StatusCode,
      outputBytes,
      timings: {
        create: t1 - t0,
        attach: t2 - t1,
        start: t3 - t2,
        wait: t4 - t3,
        remove: t5 - t4,
        total: t5 - t0,
      },
    };
  }

  /** Force-removes every container carrying `label` (key=value), e.g. after an interrupted run. */
  async removeLabelled(label: string): Promise<number> {
    const found = await this.docker.listContainers({ all: true, filters: { label: [label] } });
    for (const c of found)
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    return found.length;
  }

  /**
   * Subscribes to the engine's container events (create, attach, start, die, destroy) for containers
   * carrying `label` (key=value). The engine stamps each with nanoseconds, so phases of a container's life
   * can be timed without instrumenting whoever drives it.
   */
  async watchEvents(label: string): Promise<ContainerEventWatch> {
    const stream = (await this.docker.getEvents({
      filters: { type: ['container'], event: [...CONTAINER_EVENTS], label: [label] },
    })) as Readable;
    return new ContainerEventWatch(stream);
  }
}

export const CONTAINER_EVENTS = ['create', 'attach', 'start', 'die', 'destroy'] as const;
export type ContainerEventName = (typeof CONTAINER_EVENTS)[number];

/** A container event as the engine reported it; `atMs` is epoch milliseconds from the event's timeNano. */
export interface ContainerEvent {
  id: string;
  action: ContainerEventName;
  atMs: number;
  labels: Record<string, string>;
}

interface EngineEvent {
  id: string;
  Action: string;
  timeNano: number;
  Actor?: { Attributes?: Record<string, string> };
}

/** Collects events from an engine event stream; `next` resolves with the first one matching. */
export class ContainerEventWatch {
  readonly seen: ContainerEvent[] = [];
  private waiters: { match: (e: ContainerEvent) => boolean; resolve: (e: ContainerEvent) => void }[] = [];
  private partial = '';

  constructor(private readonly stream: Readable) {
    stream.on('data', (chunk: Buffer) => {
      this.partial += chunk.toString('utf8');
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl).trim();
        this.partial = this.partial.slice(nl + 1);
        if (line !== '') this.onEvent(JSON.parse(line) as EngineEvent);
      }
    });
    stream.on('error', () => undefined);
  }

  private onEvent(raw: EngineEvent): void {
    const event: ContainerEvent = {
      id: raw.id,
      action: raw.Action as ContainerEventName,
      atMs: raw.timeNano / 1e6,
      labels: raw.Actor?.Attributes ?? {},
    };
    this.seen.push(event);
    const hit = this.waiters.filter((w) => w.match(event));
    this.waiters = this.waiters.filter((w) => !w.match(event));
    for (const w of hit) w.resolve(event);
  }

  /** The first event (already seen or future) matching `match`; rejects after `timeoutMs`. */
  next(match: (e: ContainerEvent) => boolean, timeoutMs = 60_000): Promise<ContainerEvent> {
    const already = this.seen.find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching container event')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** Events of the containers whose `key` label equals `value`, in order. */
  withLabel(key: string, value: string): ContainerEvent[] {
    return this.seen.filter((e) => e.labels[key] === value);
  }

  close(): void {
    this.stream.destroy();
  }
}

/** Time between engine events of a sequence of containers, summed over the containers (ms). */
export interface ContainerPhases {
  containers: number;
  /** Σ create → start event: attach and the start call (the runtime sets the container up). */
  createToStart: number;
  /** Σ start → die: the command itself. */
  startToDie: number;
  /** Σ die → destroy: wait returns, output drained, remove call. */
  dieToDestroy: number;
  /** Σ destroy of one container → create of the next: the driver's own work between containers. */
  betweenContainers: number;
  /** first create → last destroy. */
  span: number;
}

/** Sums the phases of the containers in `events` (one sequence, run one after another). */
export function containerPhases(events: readonly ContainerEvent[]): ContainerPhases {
  const byId = new Map<string, Partial<Record<ContainerEventName, number>>>();
  for (const e of events) {
    const times = byId.get(e.id) ?? {};
    times[e.action] ??= e.atMs;
    byId.set(e.id, times);
  }
  const list = [...byId.values()]
    .filter((t) => t.create !== undefined && t.destroy !== undefined)
    .sort((a, b) => a.create! - b.create!);
  const sum = (f: (t: Partial<Record<ContainerEventName, number>>, i: number) => number): number =>
    list.reduce((acc, t, i) => acc + f(t, i), 0);
  return {
    containers: list.length,
    createToStart: sum((t) => t.start! - t.create!),
    startToDie: sum((t) => t.die! - t.start!),
    dieToDestroy: sum((t) => t.destroy! - t.die!),
    betweenContainers: sum((t, i) => (i === 0 ? 0 : t.create! - list[i - 1]!.destroy!)),
    span: list.length > 0 ? list[list.length - 1]!.destroy! - list[0]!.create! : Number.NaN,
  };
}
