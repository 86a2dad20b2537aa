import { EventEmitter } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, promises as fsp, type WriteStream } from 'node:fs';
import path from 'node:path';

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
  /** Bytes written to every log since this process started (for the metrics). */
  bytesWritten = 0;

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
    this.events.setMaxListeners(0);
  }

  private file(actionExecutionId: string): string {
    return path.join(this.root, `${actionExecutionId}.log`);
  }

  /** A fresh log for an action execution (a previous attempt's log is replaced). */
  writer(actionExecutionId: string): LogWriter {
    return new LogWriter(this.file(actionExecutionId), (bytes) => {
      this.bytesWritten += bytes;
      this.events.emit(actionExecutionId);
    });
  }

  /**
   * A writer that appends to what the log already holds: a remote worker's log arrives in chunks of
   * whole lines, possibly at a server that started after the log began.
   */
  async appender(actionExecutionId: string): Promise<LogWriter> {
    const file = this.file(actionExecutionId);
    const bytes = await fsp.stat(file).then(
      (st) => st.size,
      () => 0,
    );
    const lines = await this.countLines(actionExecutionId);
    return new LogWriter(
      file,
      (written) => {
        this.bytesWritten += written;
        this.events.emit(actionExecutionId);
      },
      unchanged,
      { bytes, lines },
    );
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
    // Lines end at "\n" only, as the writer counts them: a "\r" inside a line (progress output) is
    // part of the line, so the lines read always agree with log_lines.
    let partial = '';
    read: for await (const chunk of stream as AsyncIterable<string>) {
      const text = partial + chunk;
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        if (line >= offset + limit) break read;
        if (line >= offset) out.push(text.slice(start, nl));
        line += 1;
        start = nl + 1;
      }
      partial = text.slice(start);
    }
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

/**
 * A per-line rewrite (secret masking). `anyIn` (over text) or `anyInBytes` (over UTF-8 bytes) lets a
 * whole block of lines skip it when nothing in it matches.
 */
export type LineTransform = ((line: string) => string) & {
  anyIn?: (text: string) => boolean;
  anyInBytes?: (bytes: Buffer) => boolean;
  /** The masked spans of `bytes` (merged [start, end) offsets), for secrets cut in two. */
  ranges?: (bytes: Buffer) => [number, number][];
  /** Bytes in the longest masked form: how far a secret cut in two can reach into either part. */
  reach?: number;
};

/**
 * The stream that wrote last, and where a switch to it left the other stream's open line: bytes on
 * either side of that seam are adjacent in the order the container wrote them.
 */
interface Seam {
  stream: string;
  other: string;
  /** Length of `stream`'s open line when it started writing after `other`. */
  offset: number;
}

const STARS = Buffer.from('***');

const NL = 10;
const CR = 13;

/** The identity: no line needs it. */
const unchanged: LineTransform = Object.assign((line: string) => line, { anyInBytes: () => false });

/** The largest cut ≤ `at` that does not split a UTF-8 sequence (never 0 for a non-empty buffer). */
function charBoundary(bytes: Buffer, at: number): number {
  let cut = at;
  while (cut > at - 4 && cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut -= 1;
  return cut > 0 ? cut : at;
}

/**
 * Writes one action execution's output as lines, applying back-pressure and a transform (secret
 * masking).
 *
 * Output stays bytes on the common path: a block of complete lines that needs no masking and holds
 * no CR goes to the file as it came (no decoding, no per-line strings; newlines are found with
 * memchr), which is what keeps 100 MB of output near the speed of the container itself. Blocks that
 * need masking or CRLF trimming are decoded and rewritten line by line. Lines are split only at
 * newlines, which never occur inside a UTF-8 sequence, so a character split across reads is whole
 * again in the file.
 */
export class LogWriter {
  private readonly out: WriteStream;
  private readonly index: WriteStream;
  /** Partial last line per output stream, so a stdout fragment never merges with a stderr line. */
  private readonly pending = new Map<string, Buffer>();
  private bytes = 0;
  private lastStream: string | null = null;
  private seam: Seam | null = null;
  lines = 0;

  constructor(
    file: string,
    /** Called after each write with the number of bytes it added to the file. */
    private readonly onWrite: (bytes: number) => void,
    private transform: LineTransform = unchanged,
    /** Continue a log that holds `bytes` bytes in `lines` lines instead of starting it anew. */
    resume?: { bytes: number; lines: number },
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    const flags = resume ? 'a' : 'w';
    // A large buffer lets the container stream run ahead of the disk instead of waiting every 16 KB.
    this.out = createWriteStream(file, { highWaterMark: 1024 * 1024, flags });
    this.index = createWriteStream(file + '.idx', { flags });
    if (resume) {
      this.bytes = resume.bytes;
      this.lines = resume.lines;
    }
  }

  /** Bytes of whole lines handed to the file so far. */
  get size(): number {
    return this.bytes;
  }

  setTransform(transform: LineTransform): void {
    this.transform = transform;
  }

  /**
   * Appends raw output (bytes, or text as UTF-8). Returns a promise only when the file is behind and
   * the caller should wait before writing more (back-pressure for the container stream). The
   * complete lines of a chunk go to the file in one write and are announced once: per-line writes
   * and events were the main cost of streaming 100 MB.
   */
  write(chunk: Buffer | string, stream = 'gantry'): Promise<void> | undefined {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const reach = this.transform.ranges !== undefined ? (this.transform.reach ?? 0) : 0;
    if (reach > 0) bytes = this.maskAcrossStreams(bytes, stream, reach);
    const written = this.bytes;
    const before = this.pending.get(stream);
    let head: Buffer | null = null;
    if (before !== undefined && before.length > 0) {
      // Only the line the previous chunk left open is copied, not the whole chunk.
      const first = bytes.indexOf(NL);
      if (first < 0) bytes = Buffer.concat([before, bytes]);
      else {
        head = Buffer.concat([before, bytes.subarray(0, first + 1)]);
        bytes = bytes.subarray(first + 1);
      }
    }
    const last = bytes.lastIndexOf(NL);
    const out: (Buffer | string)[] = [];
    if (head !== null) out.push(this.lineBlock(head));
    let rest = bytes;
    if (last >= 0) {
      out.push(this.lineBlock(bytes.subarray(0, last + 1)));
      rest = bytes.subarray(last + 1);
    }
    const pieces: string[] = [];
    // One endless line must not hold unbounded memory: it is stored in pieces. A piece is cut only
    // once `reach` bytes past the cut have arrived, and never inside a secret.
    while (rest.length > MAX_LINE_BYTES + reach) {
      const cut = reach > 0 ? this.cutOutsideSecrets(rest, reach) : charBoundary(rest, MAX_LINE_BYTES);
      if (cut < 0) break;
      this.append(pieces, rest.subarray(0, cut).toString('utf8'), this.transform);
      rest = rest.subarray(cut);
    }
    this.pending.set(stream, rest);
    if (pieces.length > 0) out.push(pieces.join(''));
    if (out.length === 0) return undefined;
    let ok = true;
    for (const piece of out) ok = this.out.write(piece);
    this.onWrite(this.bytes - written);
    return ok ? undefined : new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  /**
   * Where to cut a long line near MAX_LINE_BYTES so that no secret is split between two pieces (each
   * piece is masked alone): past the end of any masked span across the cut; -1 when that cannot be
   * decided before more bytes arrive.
   */
  private cutOutsideSecrets(rest: Buffer, reach: number): number {
    let cut = charBoundary(rest, MAX_LINE_BYTES);
    for (;;) {
      if (cut + reach > rest.length) return -1;
      const from = Math.max(0, cut - reach);
      const across = this.transform.ranges!(rest.subarray(from, cut + reach)).find(
        ([start, end]) => from + start < cut && from + end > cut,
      );
      if (across === undefined) return cut;
      cut = from + across[1];
    }
  }

  /**
   * Masks a secret the container wrote partly on one stream and partly on the other (its open line
   * on stdout, the rest on stderr, or the reverse). Lines are assembled per stream, so the two parts
   * would otherwise be masked apart; here the bytes on both sides of the switch are checked as the
   * container wrote them, the part in the other stream's open line becomes *** and this side's part
   * is dropped.
   */
  private maskAcrossStreams(bytes: Buffer, stream: string, reach: number): Buffer {
    if (this.lastStream !== stream) {
      const other = this.lastStream === null ? undefined : this.pending.get(this.lastStream);
      this.seam =
        other !== undefined && other.length > 0
          ? { stream, other: this.lastStream!, offset: this.pending.get(stream)?.length ?? 0 }
          : null;
      this.lastStream = stream;
    }
    const seam = this.seam;
    if (seam === null) return bytes;
    const other = this.pending.get(seam.other)!;
    const own = this.pending.get(stream) ?? Buffer.alloc(0);
    const since = own.subarray(seam.offset);
    let after = Buffer.concat([since, bytes.subarray(0, reach)]);
    const nl = after.indexOf(NL);
    if (nl >= 0) after = after.subarray(0, nl);
    const tail = other.subarray(Math.max(0, other.length - reach + 1));
    const across = this.transform.ranges!(Buffer.concat([tail, after])).filter(
      ([start, end]) => start < tail.length && end > tail.length,
    );
    if (across.length === 0) {
      // Past a newline or `reach` bytes on this side, nothing can straddle the seam any more.
      if (nl >= 0 || after.length >= reach) this.seam = null;
      return bytes;
    }
    const start = Math.min(...across.map((r) => r[0]));
    let drop = Math.max(...across.map((r) => r[1])) - tail.length;
    this.pending.set(
      seam.other,
      Buffer.concat([other.subarray(0, other.length - tail.length + start), STARS]),
    );
    const fromOwn = Math.min(drop, since.length);
    this.pending.set(stream, Buffer.concat([own.subarray(0, seam.offset), since.subarray(fromOwn)]));
    drop -= fromOwn;
    this.seam = null;
    return bytes.subarray(drop);
  }

  /** Complete lines (`block` ends with a newline) as they go to the file. */
  private lineBlock(block: Buffer): Buffer | string {
    const t = this.transform;
    const needsTransform =
      t.anyInBytes !== undefined
        ? t.anyInBytes(block)
        : t.anyIn !== undefined
          ? t.anyIn(block.toString('utf8'))
          : true;
    if (needsTransform || block.indexOf(CR) >= 0) {
      const parts: string[] = [];
      const text = block.toString('utf8');
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        const end = nl > start && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
        this.append(parts, text.slice(start, end), needsTransform ? t : null);
        start = nl + 1;
      }
      return parts.join('');
    }
    // As is: count the lines and note the offset of every INDEX_EVERY-th for the index.
    let marks: Buffer | null = null;
    let marked = 0;
    let start = 0;
    let nl: number;
    while ((nl = block.indexOf(NL, start)) >= 0) {
      if (this.lines > 0 && this.lines % INDEX_EVERY === 0) {
        marks ??= Buffer.allocUnsafe(8 * (Math.floor((block.length - start) / INDEX_EVERY) + 1));
        marks.writeBigUInt64LE(BigInt(this.bytes + start), marked * 8);
        marked += 1;
      }
      this.lines += 1;
      start = nl + 1;
    }
    this.bytes += block.length;
    if (marks !== null) this.index.write(marks.subarray(0, marked * 8));
    return block;
  }

  /** Writes a line of Gantry's own (e.g. "Pulling image ..."). */
  async line(text: string): Promise<void> {
    await this.write(text + '\n');
  }

  private append(parts: string[], raw: string, transform: LineTransform | null): void {
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
    const written = this.bytes;
    for (const rest of this.pending.values())
      if (rest.length > 0) this.append(parts, rest.toString('utf8'), this.transform);
    this.pending.clear();
    if (parts.length > 0) {
      this.out.write(parts.join(''));
      this.onWrite(this.bytes - written);
    }
    await Promise.all([
      new Promise<void>((resolve) => this.out.end(resolve)),
      new Promise<void>((resolve) => this.index.end(resolve)),
    ]);
  }
}
