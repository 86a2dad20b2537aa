import type { Readable } from 'node:stream';
import {
  ImageMissingError,
  RuntimeError,
  type ContainerFile,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerSummary,
  type OutputStream,
  type RegistryAuth,
} from '../container-runtime.ts';

interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: 'created' | 'running' | 'exited';
  exitCode: number | null;
  output: ((chunk: Buffer, stream: OutputStream) => void | Promise<void>) | null;
  exited: Promise<number>;
  exit: (code: number) => void;
  files: Map<string, Buffer>;
}

/**
 * An in-memory ContainerRuntime for unit tests of scheduling and lifecycle: no Docker, no processes.
 * A container "runs" its `sh -c` script line by line, understanding only what those tests need:
 * `echo TEXT` (prints TEXT), `exit N` (ends with code N), `sleep forever` (runs until stopped, then
 * ends with 143 like a SIGTERM'd shell) and `sleep N` (N seconds). Other lines do nothing. It is a
 * stand-in for scheduling logic, never proof that a feature works against a real engine.
 */
export class FakeRuntime implements ContainerRuntime {
  readonly images = new Set<string>();
  readonly containers = new Map<string, FakeContainer>();
  /** Every container ever created, in order (for assertions). */
  readonly created: ContainerSpec[] = [];
  private next = 1;

  constructor(images: readonly string[] = []) {
    for (const i of images) this.images.add(i);
  }

  /** Containers now running (started and not exited). */
  running(): ContainerSpec[] {
    return [...this.containers.values()].filter((c) => c.state === 'running').map((c) => c.spec);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  removeLeftoverVolumes(_labels: Record<string, string>): Promise<string[]> {
    return Promise.resolve([]);
  }

  checkStart(_id: string): Promise<void> {
    return Promise.resolve();
  }

  readonly forbidsRoot = false;

  imageConfig(ref: string): Promise<{ user: string; onBuild: string[] } | null> {
    return Promise.resolve(this.images.has(ref) ? { user: '', onBuild: [] } : null);
  }

  imageExists(ref: string): Promise<boolean> {
    return Promise.resolve(this.images.has(ref));
  }

  pullImage(ref: string, _auth?: RegistryAuth, onProgress?: (line: string) => void): Promise<void> {
    if (ref.includes('does-not-exist'))
      return Promise.reject(new RuntimeError(`pull access denied for ${ref}`, false));
    onProgress?.(`pulled ${ref}`);
    this.images.add(ref);
    return Promise.resolve();
  }

  removeImage(ref: string): Promise<void> {
    this.images.delete(ref);
    return Promise.resolve();
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    if (!this.images.has(spec.image))
      return Promise.reject(new ImageMissingError(`No such image: ${spec.image}`, false));
    const id = `fake${String(this.next++).padStart(12, '0')}`;
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (exit = resolve));
    const c: FakeContainer = {
      id,
      spec,
      state: 'created',
      exitCode: null,
      output: null,
      exited,
      exit: (code) => {
        if (c.state === 'exited') return;
        c.state = 'exited';
        c.exitCode = code;
        exit(code);
      },
      files: new Map(),
    };
    this.containers.set(id, c);
    this.created.push(spec);
    return Promise.resolve(id);
  }

  attachOutput(
    id: string,
    onOutput: (chunk: Buffer, stream: OutputStream) => void | Promise<void>,
  ): Promise<{ done: Promise<void>; detach: () => void }> {
    const c = this.get(id);
    c.output = onOutput;
    return Promise.resolve({
      done: c.exited.then(() => undefined),
      detach: () => {
        c.output = null;
      },
    });
  }

  startContainer(id: string): Promise<void> {
    const c = this.get(id);
    c.state = 'running';
    void this.play(c);
    return Promise.resolve();
  }

  private async play(c: FakeContainer): Promise<void> {
    const script = c.spec.cmd?.[0] === 'sh' && c.spec.cmd[1] === '-c' ? (c.spec.cmd[2] ?? '') : '';
    for (const line of script.split('\n').map((l) => l.trim())) {
      if (c.state !== 'running') return;
      if (line.startsWith('echo ')) await c.output?.(Buffer.from(`${line.slice(5)}\n`), 'stdout');
      else if (/^exit \d+$/.test(line)) return c.exit(Number(line.slice(5)));
      else if (line === 'sleep forever') {
        await c.exited;
        return;
      } else if (/^sleep \d+$/.test(line)) {
        await Promise.race([c.exited, new Promise((r) => setTimeout(r, Number(line.slice(6)) * 1000))]);
      }
    }
    c.exit(0);
  }

  waitContainer(id: string): Promise<{ exitCode: number }> {
    return this.get(id).exited.then((exitCode) => ({ exitCode }));
  }

  stopContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c && c.state === 'running') c.exit(143);
    return Promise.resolve();
  }

  removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c) {
      c.exit(137);
      this.containers.delete(id);
    }
    return Promise.resolve();
  }

  exportContainer(): Promise<Readable> {
    return Promise.reject(new RuntimeError('the fake runtime cannot export a filesystem', false));
  }

  putFiles(id: string, files: readonly ContainerFile[]): Promise<void> {
    const c = this.get(id);
    for (const f of files) c.files.set(f.path, f.content);
    return Promise.resolve();
  }

  readFile(id: string, path: string): Promise<Buffer | null> {
    const c = this.get(id);
    if (path === '/etc/passwd') return Promise.resolve(Buffer.from('root:x:0:0:root:/root:/bin/sh\n'));
    return Promise.resolve(c.files.get(path) ?? null);
  }

  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    return Promise.resolve(
      [...this.containers.values()]
        .filter((c) => Object.entries(labels).every(([k, v]) => c.spec.labels[k] === v))
        .map((c) => ({ id: c.id, state: c.state, labels: c.spec.labels })),
    );
  }

  buildImage(options: { tags: string[]; onOutput: (line: string) => void }): Promise<{ imageId: string }> {
    for (const t of options.tags) this.images.add(t);
    options.onOutput('built by the fake runtime');
    return Promise.resolve({ imageId: `sha256:fake${this.next++}` });
  }

  pushImage(): Promise<void> {
    return Promise.reject(new RuntimeError('the fake runtime has no registry', false));
  }

  tagImage(source: string, target: string): Promise<void> {
    if (!this.images.has(source)) return Promise.reject(new RuntimeError(`No such image: ${source}`, false));
    this.images.add(target);
    return Promise.resolve();
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError(`No such container: ${id}`, false);
    return c;
  }
}
