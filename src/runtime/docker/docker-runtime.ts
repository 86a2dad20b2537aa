import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
// Before dockerode: its ssh2 and gRPC parts load only when used.
import './dockerode-lazy-parts.ts';
import Docker from 'dockerode';
import { firstFileOf, packFiles } from './docker-archives.ts';
import {
  ImageMissingError,
  RuntimeError,
  type BindMount,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerFile,
  type ContainerSummary,
  type OutputStream,
  type RegistryAuth,
} from '../container-runtime.ts';
import {
  dockerConnectionOptions,
  engineMessageOf,
  isTransientRegistryMessage,
  statusCodeOf,
  toRuntimeError,
} from './docker-errors.ts';
import { attachConnection, type EngineAddress } from './attach-connection.ts';
import {
  demultiplexStream,
  LineSplitter,
  progressError,
  progressMessages,
  type OutputSink,
} from './docker-streams.ts';

/** Options for {@link DockerRuntime}. */
export interface DockerRuntimeOptions {
  /** A unix socket path (`/var/run/docker.sock`, `unix:///...`) or `tcp://host:port`. */
  dockerHost: string;
  /** Limits of every container it creates; 0 means none. Defaults: 4096 MiB, 2 CPUs, 4096 processes. */
  limits?: ContainerLimits;
  /** Refuse to start a container whose user is uid 0 (configuration: forbidRoot). Default false. */
  forbidRoot?: boolean;
}

/** Resource limits of action containers (configuration: containerMemoryMb, containerCpus, containerPidsLimit). */
export interface ContainerLimits {
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
}

export const DEFAULT_LIMITS: ContainerLimits = { memoryMb: 4096, cpus: 2, pidsLimit: 4096 };

/**
 * HostConfig fields that hold every container to its limits and keep setuid binaries and file capabilities
 * from raising privileges (no-new-privileges). The engine refuses more CPUs than the host has, so the CPU
 * limit is capped at the host's count. (Exported for the benchmarks' raw baseline, which must create the
 * same containers.)
 */
export function confinement(limits: ContainerLimits): Partial<Docker.HostConfig> {
  const cpus = Math.min(limits.cpus, availableParallelism());
  return {
    SecurityOpt: ['no-new-privileges:true'],
    ...(limits.memoryMb > 0
      ? { Memory: limits.memoryMb * 1024 * 1024, MemorySwap: limits.memoryMb * 1024 * 1024 }
      : {}),
    ...(cpus > 0 ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
    ...(limits.pidsLimit > 0 ? { PidsLimit: limits.pidsLimit } : {}),
  };
}

/** How many image references the presence cache remembers (the oldest is forgotten first). */
const PRESENT_IMAGES_MAX = 256;

/** Names of the volumes that carry pinned volume mappings (see pinnedVolumes). */
const PINNED_VOLUME_PREFIX = 'gantry-pin-';

/** Build options as the interface declares them. */
type BuildOptions = Parameters<ContainerRuntime['buildImage']>[0];

/**
 * ContainerRuntime backed by a Docker Engine, through dockerode. This folder is the only place that knows
 * the Docker API; every failure leaves it as a RuntimeError.
 */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private readonly dockerHost: string;
  /** Where attachOutput connects itself; null over TLS, where dockerode's attach is used. */
  private readonly engineAddress: EngineAddress | null;
  private readonly limits: ContainerLimits;
  private readonly forbidRoot: boolean;
  /** Pinned volumes of the containers this process created and has not removed yet. */
  private readonly volumesOf = new Map<string, string[]>();
  /**
   * Image references known to be on the engine, with the image id they named: an action's image is
   * inspected once, not before every container. Whatever this process does to images (pull, build, tag,
   * remove) forgets the references involved; an image removed by someone else makes createContainer fail
   * with ImageMissingError, which forgets it too.
   */
  private readonly presentImages = new Map<string, string>();

  constructor(options: DockerRuntimeOptions) {
    this.dockerHost = options.dockerHost;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.forbidRoot = options.forbidRoot ?? false;
    const connection = dockerConnectionOptions(options.dockerHost);
    this.docker = new Docker(connection);
    this.engineAddress =
      connection.socketPath !== undefined
        ? { socketPath: connection.socketPath }
        : connection.protocol === 'http' && connection.host !== undefined
          ? { host: connection.host, port: Number(connection.port) }
          : null;
  }

  async ping(): Promise<void> {
    await this.call('ping the Docker engine', () => this.docker.ping());
  }

  get forbidsRoot(): boolean {
    return this.forbidRoot;
  }

  async imageConfig(ref: string): Promise<{ user: string; onBuild: string[] } | null> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return { user: info.Config?.User ?? '', onBuild: info.Config?.OnBuild ?? [] };
    } catch (err) {
      if (statusCodeOf(err) === 404) return null;
      throw this.fail(err, `inspect image ${ref}`);
    }
  }

  async imageExists(ref: string): Promise<boolean> {
    if (this.presentImages.has(ref)) return true;
    try {
      const info = await this.docker.getImage(ref).inspect();
      if (this.presentImages.size >= PRESENT_IMAGES_MAX)
        this.presentImages.delete(this.presentImages.keys().next().value!);
      this.presentImages.set(ref, info.Id);
      return true;
    } catch (err) {
      if (statusCodeOf(err) === 404) return false;
      throw this.fail(err, `inspect image ${ref}`);
    }
  }

  /** Forgets `ref` and every reference that named the same image. */
  private forgetImage(ref: string): void {
    const id = this.presentImages.get(ref);
    this.presentImages.delete(ref);
    for (const [other, otherId] of this.presentImages) {
      // A removal by id (or id prefix) takes every tag of the image with it.
      if (otherId === id || otherId === ref || otherId.startsWith(`sha256:${ref}`))
        this.presentImages.delete(other);
    }
  }

  async pullImage(ref: string, auth?: RegistryAuth, onProgress?: (line: string) => void): Promise<void> {
    // The reference may name another image afterwards.
    this.forgetImage(ref);
    // Registry failures (unknown image, bad credentials, unreachable registry) come back as an HTTP error
    // before the stream starts or as an error message inside it; both carry the engine's wording.
    const stream = await this.call(
      `pull ${ref}`,
      () => this.docker.pull(ref, auth ? { authconfig: { ...auth } } : {}),
      registryRetryable,
    );
    await this.followProgress(stream as Readable, `pull ${ref}`, onProgress);
  }

  async removeImage(ref: string): Promise<void> {
    this.forgetImage(ref);
    try {
      // force: an image still referenced by a stopped container would otherwise refuse to go.
      await this.docker.getImage(ref).remove({ force: true });
    } catch (err) {
      if (statusCodeOf(err) === 404) return;
      throw this.fail(err, `remove image ${ref}`);
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const pinned = spec.binds.filter((b) => b.pinned);
    const volumes = await this.pinnedVolumes(pinned, spec.labels);
    try {
      const id = await this.createWithVolumes(spec, volumes);
      this.volumesOf.set(
        id,
        volumes.map((v) => v.Source!),
      );
      return id;
    } catch (err) {
      await this.removeVolumes(volumes.map((v) => v.Source!));
      throw err;
    }
  }

  /**
   * One local volume per pinned directory, its device the descriptor's magic link. dockerd mounts a volume
   * with mount(2) in its own mount namespace, which is the host's, so the kernel follows the link to the
   * directory the descriptor holds; a plain bind of the same path fails (runc mounts from the container's new
   * mount namespace, where the descriptor's mount is foreign) and a bind of the directory's name would be
   * resolved again, which is the race. Docker 20.10 (API 1.41) has no volume Subpath, hence this.
   */
  private async pinnedVolumes(
    binds: readonly BindMount[],
    labels: Record<string, string>,
  ): Promise<Docker.MountSettings[]> {
    const mounts: Docker.MountSettings[] = [];
    try {
      for (const bind of binds) {
        const name = `${PINNED_VOLUME_PREFIX}${randomUUID()}`;
        await this.call('create a volume for a volume mapping', () =>
          this.docker.createVolume({
            Name: name,
            Driver: 'local',
            DriverOpts: { type: 'none', o: 'bind', device: bind.hostPath },
            Labels: { ...labels, 'gantry.pinned': '1' },
          }),
        );
        mounts.push({
          Type: 'volume',
          Source: name,
          Target: bind.containerPath,
          ReadOnly: bind.readOnly ?? false,
          // A bind shows what is there; never copy the image's files into the pipeline filesystem.
          VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'],
        });
      }
    } catch (err) {
      await this.removeVolumes(mounts.map((m) => m.Source!));
      throw err;
    }
    return mounts;
  }

  private async removeVolumes(names: readonly string[]): Promise<void> {
    for (const name of names) {
      try {
        await this.docker.getVolume(name).remove();
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw this.fail(err, `remove volume ${name}`);
      }
    }
  }

  private async createWithVolumes(spec: ContainerSpec, volumes: Docker.MountSettings[]): Promise<string> {
    const body: Docker.ContainerCreateOptions = {
      Image: spec.image,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      Labels: spec.labels,
      // Output is demultiplexed in attachOutput, which relies on the framing that only exists without a TTY.
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: spec.networkMode,
        ...confinement(this.limits),
        Binds: spec.binds
          .filter((b) => !b.pinned)
          .map((b) => `${b.hostPath}:${b.containerPath}${b.readOnly ? ':ro' : ''}`),
        Mounts: volumes,
        AutoRemove: false, // we read the exit code and export the filesystem after the container stops
        // Output reaches us through attachOutput; the default json-file driver would keep a second copy on the
        // engine's disk and, measured, cuts output throughput about sevenfold (12 s vs 1.7 s for 100 MB).
        LogConfig: { Type: 'none', Config: {} },
      },
    };
    if (spec.user !== undefined) body.User = spec.user;
    if (spec.workingDir !== undefined) body.WorkingDir = spec.workingDir;
    // An explicit [] is sent as is: the engine then clears the image's entrypoint. Undefined keeps it.
    if (spec.entrypoint !== undefined) body.Entrypoint = spec.entrypoint;
    if (spec.cmd !== undefined) body.Cmd = spec.cmd;
    // dockerode would otherwise copy the whole body (environment, secrets included) into the URL query string
    // as well; _query/_body keep the query to the container name.
    const request = { _query: spec.name !== undefined ? { name: spec.name } : {}, _body: body };
    try {
      const container = await this.docker.createContainer(request as Docker.ContainerCreateOptions);
      return container.id;
    } catch (err) {
      const action = `create container from ${spec.image}`;
      if (statusCodeOf(err) === 404 && /no such image/i.test(engineMessageOf(err))) {
        this.forgetImage(spec.image);
        throw new ImageMissingError(`${action}: ${engineMessageOf(err)}`, false);
      }
      throw this.fail(err, action);
    }
  }

  async attachOutput(
    id: string,
    onOutput: (chunk: Buffer, stream: OutputStream) => void | Promise<void>,
  ): Promise<{ done: Promise<void>; detach: () => void }> {
    // A failure of the consumer's own callback is passed on untouched; only stream failures are engine faults.
    let consumerFailure: { error: unknown } | undefined;
    const sink: OutputSink = (chunk, stream) => {
      try {
        const pending = onOutput(chunk, stream);
        return pending?.catch((error: unknown) => {
          consumerFailure = { error };
          throw error;
        });
      } catch (error) {
        consumerFailure = { error };
        throw error;
      }
    };
    const action = `attach to container ${id}`;
    let output: Promise<void>;
    let detach: () => void;
    if (this.engineAddress !== null) {
      // A connection of its own, read into one reusable buffer (attach-connection.ts).
      const attached = await this.call(action, () => attachConnection(this.engineAddress!, id, sink));
      output = attached.done;
      detach = attached.close;
    } else {
      // TLS: dockerode's hijacked socket, each read a buffer of its own. The engine registers the
      // attachment before answering, so starting the container after this resolves loses no output.
      const source = (await this.call(action, () =>
        this.docker.getContainer(id).attach({ stream: true, stdout: true, stderr: true, hijack: true }),
      )) as unknown as Readable;
      output = demultiplexStream(source, sink).finally(() => source.destroy());
      detach = () => source.destroy();
    }
    const done = output.catch((err: unknown) => {
      throw consumerFailure ? consumerFailure.error : this.fail(err, `read output of container ${id}`);
    });
    // The caller awaits `done` only after start/wait; mark it handled so an early failure cannot crash the
    // process as an unhandled rejection. The caller still sees the rejection when it awaits.
    done.catch(() => {});
    return { done, detach };
  }

  async checkStart(id: string): Promise<void> {
    if (this.forbidRoot) await this.refuseRoot(id);
  }

  async startContainer(id: string): Promise<void> {
    // Checked again (a caller that skipped checkStart still cannot start root).
    if (this.forbidRoot) await this.refuseRoot(id);
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (statusCodeOf(err) === 304) return; // already running
      throw this.fail(err, `start container ${id}`);
    }
  }

  async waitContainer(id: string): Promise<{ exitCode: number }> {
    const result = (await this.call(`wait for container ${id}`, () =>
      this.docker.getContainer(id).wait(),
    )) as {
      StatusCode?: number;
      Error?: { Message?: string } | null;
    };
    if (result.Error?.Message)
      throw new RuntimeError(`wait for container ${id}: ${result.Error.Message}`, false);
    if (typeof result.StatusCode !== 'number')
      throw new RuntimeError(`wait for container ${id}: no exit code in the engine's answer`, false);
    return { exitCode: result.StatusCode };
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(graceSeconds)) });
    } catch (err) {
      const status = statusCodeOf(err);
      if (status === 304 || status === 404) return; // already stopped, or already gone
      throw this.fail(err, `stop container ${id}`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    // The volumes pinning its volume mappings go with it (named volumes outlive a container otherwise).
    // For a container this process created they are known; asking the engine costs a call per action.
    const known = this.volumesOf.get(id);
    if (known !== undefined) {
      await this.removeContainerOnly(id);
      this.volumesOf.delete(id);
      await this.removeVolumes(known);
      return;
    }
    let volumes: string[] = [];
    try {
      const info = await this.docker.getContainer(id).inspect();
      volumes = (info.Mounts ?? [])
        .map((m) => m.Name ?? '')
        .filter((name) => name.startsWith(PINNED_VOLUME_PREFIX));
    } catch (err) {
      if (statusCodeOf(err) === 404) return;
      throw this.fail(err, `inspect container ${id}`);
    }
    await this.removeContainerOnly(id);
    await this.removeVolumes(volumes);
  }

  private async removeContainerOnly(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const status = statusCodeOf(err);
      if (status === 404) return;
      if (status === 409 && /already in progress/i.test(engineMessageOf(err))) {
        // Someone else is removing it; the caller's expectation ("gone afterwards") holds once that finishes.
        await this.waitUntilGone(id);
        return;
      }
      throw this.fail(err, `remove container ${id}`);
    }
  }

  async exportContainer(id: string): Promise<Readable> {
    const stream = await this.call(`export container ${id}`, () => this.docker.getContainer(id).export());
    return stream as Readable;
  }

  async putFiles(id: string, files: readonly ContainerFile[]): Promise<void> {
    if (files.length === 0) return;
    const archive = await packFiles(files);
    await this.call(`copy files into container ${id}`, () =>
      this.docker.getContainer(id).putArchive(archive, { path: '/' }),
    );
  }

  /**
   * With forbidRoot, the user a created container will run as, resolved as runc will resolve it at start
   * (the container's own /etc/passwd, FILE variables already placed): nothing can change either before
   * the start, so a container that would run as uid 0 (`root`, `0:0`, the image's default, or a name the
   * image maps to 0) is refused here.
   */
  private async refuseRoot(id: string): Promise<void> {
    const info = await this.call(`inspect container ${id}`, () => this.docker.getContainer(id).inspect());
    const user = info.Config.User ?? '';
    const name = user.split(':')[0] ?? '';
    let uid: number | null = null;
    if (name === '') uid = 0;
    else if (/^\d+$/.test(name)) uid = Number(name);
    else {
      const passwd = (await this.readFile(id, '/etc/passwd'))?.toString('utf8') ?? '';
      const entry = passwd.split('\n').find((line) => line.split(':')[0] === name);
      // A name the image does not know fails at start anyway ("unable to find user").
      if (entry !== undefined) uid = Number(entry.split(':')[2]);
    }
    if (uid === 0)
      throw new RuntimeError(
        `this server forbids running actions as root (forbidRoot), and this container would run as ${
          user === '' ? "the image's default user, root" : `"${user}" (uid 0)`
        }: set run_as_user to another user`,
        false,
      );
  }

  async readFile(id: string, path: string): Promise<Buffer | null> {
    let stream: Readable;
    try {
      stream = (await this.docker.getContainer(id).getArchive({ path })) as Readable;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw this.fail(err, `read ${path} from container ${id}`);
    }
    return firstFileOf(stream);
  }

  async removeLeftoverVolumes(labels: Record<string, string>): Promise<string[]> {
    // Only Gantry's own: the pinned-volume label and this instance's labels, and the name prefix too.
    const label = ['gantry.pinned=1', ...Object.entries(labels).map(([key, value]) => `${key}=${value}`)];
    const listed = await this.call('list volumes', () => this.docker.listVolumes({ filters: { label } }));
    const removed: string[] = [];
    for (const volume of listed.Volumes ?? []) {
      if (!volume.Name.startsWith(PINNED_VOLUME_PREFIX)) continue;
      try {
        await this.docker.getVolume(volume.Name).remove();
        removed.push(volume.Name);
      } catch (err) {
        const status = statusCodeOf(err);
        // 409: a container still uses it (its removal takes the volume along); 404: gone meanwhile.
        if (status !== 409 && status !== 404) throw this.fail(err, `remove volume ${volume.Name}`);
      }
    }
    return removed;
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const label = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
    const infos = await this.call('list containers', () =>
      this.docker.listContainers({ all: true, filters: label.length > 0 ? { label } : {} }),
    );
    return infos.map((info) => ({ id: info.Id, state: info.State, labels: info.Labels ?? {} }));
  }

  async buildImage(options: BuildOptions): Promise<{ imageId: string }> {
    for (const tag of options.tags) this.forgetImage(tag);
    const query: Record<string, unknown> = {
      dockerfile: options.dockerfile,
      t: options.tags, // an array becomes repeated t= parameters, which the engine reads as several tags
      buildargs: options.buildArgs,
      labels: options.labels,
      networkmode: options.networkMode,
      rm: true,
      forcerm: true, // do not leave intermediate containers behind when a step fails
    };
    if (options.target !== undefined) query.target = options.target;
    if (options.platform !== undefined) query.platform = options.platform;
    if (options.auth) {
      const { serveraddress, username, password } = options.auth;
      query.registryconfig = { [serveraddress]: { username, password } };
    }
    const action = `build image ${options.tags[0] ?? ''}`.trim();
    const stream = (await this.call(action, () =>
      this.docker.buildImage(options.context, query as Docker.ImageBuildOptions),
    )) as Readable;

    let imageId: string | undefined;
    const lines = new LineSplitter((line) => {
      // The classic builder's last line; a fallback for engines that send no aux message.
      const built = /^Successfully built ([0-9a-f]+)$/.exec(line);
      if (built?.[1] && imageId === undefined) imageId = built[1];
      options.onOutput(line);
    });
    try {
      for await (const message of progressMessages(stream)) {
        const error = progressError(message);
        if (error !== undefined) {
          lines.flush();
          throw new RuntimeError(`${action}: ${error}`, false);
        }
        if (typeof message.stream === 'string') lines.push(message.stream);
        else if (typeof message.status === 'string')
          lines.push(`${message.id ? `${message.id}: ` : ''}${message.status}\n`);
        if (typeof message.aux?.ID === 'string') imageId = message.aux.ID;
      }
      lines.flush();
    } catch (err) {
      throw this.fail(err, action);
    } finally {
      stream.destroy();
    }

    if (imageId === undefined && options.tags[0] !== undefined) {
      const tag = options.tags[0];
      const info = await this.call(`inspect built image ${tag}`, () => this.docker.getImage(tag).inspect());
      imageId = info.Id;
    }
    if (imageId === undefined) throw new RuntimeError(`${action}: the engine reported no image id`, false);
    return { imageId };
  }

  async pushImage(
    ref: string,
    auth: RegistryAuth | undefined,
    onProgress?: (line: string) => void,
  ): Promise<void> {
    const { repository, tag } = splitReference(ref);
    const options: Docker.ImagePushOptions = { tag };
    // The engine insists on an X-Registry-Auth header for push, even an empty one.
    options.authconfig = auth ? { ...auth } : ({} as Docker.AuthConfig);
    const stream = await this.call(
      `push ${ref}`,
      () => this.docker.getImage(repository).push(options),
      registryRetryable,
    );
    await this.followProgress(stream as Readable, `push ${ref}`, onProgress);
  }

  async tagImage(source: string, target: string): Promise<void> {
    this.forgetImage(target);
    const { repository, tag } = splitReference(target);
    await this.call(`tag ${source} as ${target}`, () =>
      this.docker.getImage(source).tag({ repo: repository, tag }),
    );
  }

  /** Runs one engine request, turning whatever it throws into a RuntimeError. */
  private async call<T>(
    action: string,
    request: () => Promise<T>,
    isRetryable?: (status: number, message: string) => boolean,
  ): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.fail(err, action, isRetryable);
    }
  }

  private fail(
    err: unknown,
    action: string,
    isRetryable?: (status: number, message: string) => boolean,
  ): RuntimeError {
    return toRuntimeError(err, action, this.dockerHost, isRetryable);
  }

  /**
   * Reads a pull/push progress stream to its end. Errors arrive inside the stream (HTTP status is already
   * 200 by then), so each message is checked. Progress lines are reported once per layer and status change,
   * not once per progress-bar tick.
   */
  private async followProgress(
    stream: Readable,
    action: string,
    onProgress?: (line: string) => void,
  ): Promise<void> {
    const lastStatus = new Map<string, string>();
    try {
      for await (const message of progressMessages(stream)) {
        const error = progressError(message);
        if (error !== undefined)
          throw new RuntimeError(`${action}: ${error}`, isTransientRegistryMessage(error));
        if (onProgress && typeof message.status === 'string') {
          const key = message.id ?? '';
          if (lastStatus.get(key) === message.status) continue;
          lastStatus.set(key, message.status);
          onProgress(message.id ? `${message.id}: ${message.status}` : message.status);
        }
      }
    } catch (err) {
      throw this.fail(err, action);
    } finally {
      stream.destroy();
    }
  }

  /** Polls until the container no longer exists (someone else is removing it). */
  private async waitUntilGone(id: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.docker.getContainer(id).inspect();
      } catch (err) {
        if (statusCodeOf(err) === 404) return;
        throw this.fail(err, `inspect container ${id}`);
      }
      await sleep(200);
    }
    throw new RuntimeError(
      `remove container ${id}: removal by another request did not finish within ${timeoutMs / 1000} s`,
      true,
    );
  }
}

/** Whether a failed pull/push answer may succeed later: network trouble yes, "not found"/"denied" no. */
function registryRetryable(status: number, message: string): boolean {
  return status === 503 || isTransientRegistryMessage(message);
}

/**
 * Splits "registry:5000/name:tag" into repository and tag ("latest" when absent). A colon only starts the
 * tag when it comes after the last slash, since an earlier one belongs to a registry port. Digest references
 * ("name@sha256:...") keep the digest as their "tag", which the pull/push endpoints accept.
 */
export function splitReference(ref: string): { repository: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repository: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: 'latest' };
}
