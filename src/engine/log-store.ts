import { EventEmitter } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, promises as fsp, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Action logs live in append-only files, one per action execution, beside a sparse index of the byte
 * offset of every 1000th line. Files keep log bodies out of the database's hot tables (100 MB of
 * output would bloat and slow every query), and the index makes `?offset=` reads cost one seek.
 */
const INDEX_EVERY = 1000;
/** Longer lines are split so that one line never holds unbounded memory. */
const MAX_LINE_BYTES = 64 * 1024;

export class LogStore {
  readonly events = new EventEmitter();

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
    this.events.setMaxListeners(0);
  }

  private file(actionExecutionId: string): string {
    return path.join(this.root, `${actionExecutionId}.log`);
  }

  /** A fresh log for an action execution (a previous attempt's log is replaced). */
  writer(actionExecutionId: string): LogWriter {
    return new LogWriter(this.file(actionExecutionId), () => this.events.emit(actionExecutionId));
  }

  /** Lines [offset, offset+limit) of a log; fewer at its end. */
  async readLines(actionExecutionId: string, offset: number, limit: number): Promise<string[]> {
    const file = this.file(actionExecutionId);
    let start = 0;
    let line = 0;
    const block = Math.floor(offset / INDEX_EVERY);
    if (block > 0) {
      try {
        const handle = await fsp.open(file + '.idx', 'r');
        try {
          const buf = Buffer.alloc(8);
          const { bytesRead } = await handle.read(buf, 0, 8, (block - 1) * 8);
          if (bytesRead === 8) {
            start = Number(buf.readBigUInt64LE());
            line = block * INDEX_EVERY;
          }
        } finally {
          await handle.close();
        }
      } catch {
        // no index yet: read from the top
      }
    }
    const out: string[] = [];
    let stream;
    try {
      await fsp.access(file);
      stream = createReadStream(file, { start, encoding: 'utf8' });
    } catch {
      return out;
    }
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    for await (const text of rl) {
      if (line >= offset + limit) break;
      if (line >= offset) out.push(text);
      line += 1;
    }
    rl.close();
    stream.destroy();
    return out;
  }

  /** How many lines a log holds on disk (0 when there is none): recovery's count after a crash lost the writer's. */
  async countLines(actionExecutionId: string): Promise<number> {
    let lines = 0;
    try {
      for await (const chunk of createReadStream(this.file(actionExecutionId)) as AsyncIterable<Buffer>) {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines += 1;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return lines;
  }

  async remove(actionExecutionIds: readonly string[]): Promise<void> {
    for (const id of actionExecutionIds) {
      await fsp.rm(this.file(id), { force: true });
      await fsp.rm(this.file(id) + '.idx', { force: true });
    }
  }
}

/** A per-line rewrite (secret masking); `anyIn` lets a whole chunk skip it when nothing in it matches. */
export type LineTransform = ((line: string) => string) & { anyIn?: (text: string) => boolean };

/** Writes one action execution's output as lines, applying back-pressure and a transform (secret masking). */
export class LogWriter {
  private readonly out: WriteStream;
  private readonly index: WriteStream;
  /** Partial last line per output stream, so a stdout fragment never merges with a stderr line. */
  private readonly pending = new Map<string, string>();
  private bytes = 0;
  lines = 0;

  constructor(
    file: string,
    private readonly onWrite: () => void,
    private transform: LineTransform = (l) => l,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    // A large buffer lets the container stream run ahead of the disk instead of waiting every 16 KB.
    this.out = createWriteStream(file, { highWaterMark: 1024 * 1024 });
    this.index = createWriteStream(file + '.idx');
  }

  setTransform(transform: LineTransform): void {
    this.transform = transform;
  }

  /**
   * Appends raw output; resolves when the file can take more (back-pressure for the container stream).
   * The complete lines of a chunk go to the file in one write and are announced once: per-line writes
   * and events were the main cost of streaming 100 MB.
   */
  async write(chunk: string, stream = 'gantry'): Promise<void> {
    const text = (this.pending.get(stream) ?? '') + chunk;
    const parts: string[] = [];
    const transform =
      this.transform.anyIn === undefined || this.transform.anyIn(text) ? this.transform : null;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.append(parts, text.slice(start, end), transform);
      start = nl + 1;
    }
    let rest = text.slice(start);
    while (rest.length > MAX_LINE_BYTES) {
      this.append(parts, rest.slice(0, MAX_LINE_BYTES), transform);
      rest = rest.slice(MAX_LINE_BYTES);
    }
    this.pending.set(stream, rest);
    if (parts.length === 0) return;
    const ok = this.out.write(parts.join(''));
    this.onWrite();
    if (!ok) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  /** Writes a line of Gantry's own (e.g. "Pulling image ..."). */
  async line(text: string): Promise<void> {
    await this.write(text + '\n');
  }

  private append(parts: string[], raw: string, transform: LineTransform | null = this.transform): void {
    if (this.lines > 0 && this.lines % INDEX_EVERY === 0) {
      const buf = Buffer.alloc(8);
      buf.writeBigUInt64LE(BigInt(this.bytes));
      this.index.write(buf);
    }
    const data = (transform === null ? raw : transform(raw)) + '\n';
    this.bytes += Buffer.byteLength(data);
    this.lines += 1;
    parts.push(data);
  }

  /** Flushes a last partial line and closes the files. */
  async close(): Promise<void> {
    const parts: string[] = [];
    for (const rest of this.pending.values()) if (rest !== '') this.append(parts, rest);
    this.pending.clear();
    if (parts.length > 0) {
      this.out.write(parts.join(''));
      this.onWrite();
    }
    await Promise.all([
      new Promise<void>((resolve) => this.out.end(resolve)),
      new Promise<void>((resolve) => this.index.end(resolve)),
    ]);
  }
}
