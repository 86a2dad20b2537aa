import type { Readable } from 'node:stream';

/** Credentials for a registry pull or push. `serveraddress` is the registry host (e.g. 127.0.0.1:5000). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface BindMount {
  /** Absolute host path; the engine has already confined it to the pipeline filesystem. */
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
  /**
   * `hostPath` is a descriptor's magic link (`/proc/<pid>/fd/<n>`) to a directory that must be mounted as
   * the directory the descriptor holds, never re-resolved by name; the descriptor stays open until the
   * container has started.
   */
  pinned?: boolean;
}

export interface ContainerSpec {
  /** Image reference, "name:tag". */
  image: string;
  /** Replaces the image's entrypoint when given; undefined keeps the image's own. */
  entrypoint?: string[];
  /** Replaces the image's command when given. */
  cmd?: string[];
  env: Record<string, string>;
  user?: string;
  workingDir?: string;
  binds: BindMount[];
  labels: Record<string, string>;
  /** Docker network mode: "none", "host", a network name... */
  networkMode: string;
  name?: string;
}

export type OutputStream = 'stdout' | 'stderr';

/** A file to place in a container before it starts (FILE and SSH_KEY variables). */
export interface ContainerFile {
  /** Absolute path in the container. */
  path: string;
  content: Buffer;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  uid: number;
  gid: number;
}

export interface ContainerSummary {
  id: string;
  state: string;
  labels: Record<string, string>;
}

/** Raised for faults of the engine itself (not a failing command). `retryable` says whether trying again can help. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * A container could not be created because its image is not on the engine (any more): imageExists may
 * have answered from what it knew, so the caller makes sure of the image (pull) and creates again.
 */
export class ImageMissingError extends RuntimeError {}

/**
 * The narrow interface the engine uses to run containers. Only runtime/docker/ talks to the Docker API;
 * unit tests of scheduling logic can swap in a fake.
 */
export interface ContainerRuntime {
  /** The runtime refuses containers that would run as uid 0 (forbidRoot); builds are checked by the engine. */
  readonly forbidsRoot: boolean;
  /** Throws RuntimeError when the engine cannot be reached. */
  ping(): Promise<void>;
  /** The configured user and ONBUILD triggers of image `ref`; null when it is not on the engine. */
  imageConfig(ref: string): Promise<{ user: string; onBuild: string[] } | null>;
  /**
   * Whether `ref` is on the engine. May answer true from an earlier answer: an image removed behind the
   * runtime's back shows as ImageMissingError from createContainer.
   */
  imageExists(ref: string): Promise<boolean>;
  /** Pulls `ref`; rejects with RuntimeError carrying the engine's or registry's message. */
  pullImage(ref: string, auth?: RegistryAuth, onProgress?: (line: string) => void): Promise<void>;
  removeImage(ref: string): Promise<void>;
  createContainer(spec: ContainerSpec): Promise<string>;
  /**
   * Rejects (RuntimeError) a created container the runtime's policy forbids starting, such as one that
   * would run as root under forbidRoot. Called once its files are placed and before attaching: the
   * engine never ends an attachment to a container removed without being started.
   */
  checkStart(id: string): Promise<void>;
  /**
   * Attaches to the container's output before it starts so no byte is missed, calling `onOutput` with
   * stdout and stderr chunks in the order the engine sent them. Resolves when the output ends.
   * `onOutput` may return a promise to apply back-pressure. `detach` ends the attachment of a container
   * that will be removed without being started (the engine never ends that one itself); `done` then
   * settles.
   */
  attachOutput(
    id: string,
    onOutput: (chunk: Buffer, stream: OutputStream) => void | Promise<void>,
  ): Promise<{ done: Promise<void>; detach: () => void }>;
  startContainer(id: string): Promise<void>;
  /** Resolves with the exit code once the container has stopped. */
  waitContainer(id: string): Promise<{ exitCode: number }>;
  /** SIGTERM, then SIGKILL after `graceSeconds`. A container that already stopped is not an error. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  /** Removes the container (forcefully); a missing container is not an error. */
  removeContainer(id: string): Promise<void>;
  /** The container's whole filesystem as a tar stream. */
  exportContainer(id: string): Promise<Readable>;
  /** Writes files into a created (not yet started) container, creating parent directories. */
  putFiles(id: string, files: readonly ContainerFile[]): Promise<void>;
  /** Reads one regular file from a created container; null when it does not exist. */
  readFile(id: string, path: string): Promise<Buffer | null>;
  /** Containers (running or not) carrying every one of `labels`. */
  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]>;
  /**
   * Removes the runtime's own helper volumes (those pinning volume mappings) that carry `labels` and no
   * container uses: what a crash between making one and removing its container left. Returns their names.
   */
  removeLeftoverVolumes(labels: Record<string, string>): Promise<string[]>;
  /** Builds an image from a tar'ed context; build output lines go to `onOutput`. */
  buildImage(options: {
    context: Readable;
    dockerfile: string;
    tags: string[];
    buildArgs: Record<string, string>;
    target?: string;
    platform?: string;
    networkMode: string;
    labels: Record<string, string>;
    /** Credentials for pulling private base images. */
    auth?: RegistryAuth;
    onOutput: (line: string) => void;
  }): Promise<{ imageId: string }>;
  pushImage(ref: string, auth: RegistryAuth | undefined, onProgress?: (line: string) => void): Promise<void>;
  tagImage(source: string, target: string): Promise<void>;
}
