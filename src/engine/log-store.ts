import { EventEmitter } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  promises as fsp,
  rmSync,
  type WriteStream,
} from 'node:fs';
import path from 'node:path';
import type { Db } from '../store/database.ts';
import { BlockFile } from './block-file.ts';
import { LogChunks } from './log-chunks.ts';

/**
 * Action logs live in append-only files, one per action execution, beside a sparse index of the byte
 * offset of every 1000th line. Files keep log bodies out of the database's hot tables (100 MB of
 * output would bloat and slow every query), and the index makes `?offset=` reads cost one seek.
 */
const INDEX_EVERY = 1000;
/**
 * Index entries go to the file in batches of this many (and at the end): one small write per 1000
 * lines was a tenth of the file writes of a large log. Until then readers get them from the writer.
 */
const INDEX_BATCH = 512;
/** Longer lines are split so that one line never holds unbounded memory. */
const MAX_LINE_BYTES = 64 * 1024;
/**
 * Bytes not yet in the file above which write() applies back-pressure: the container stream runs ahead
 * of the disk by this much instead of waiting on every write.
 */
const FILE_BEHIND_MAX = 1024 * 1024;

export class LogStore {
  readonly events = new EventEmitter();
  /** Bytes written to every log since this process started (for the metrics). */
  bytesWritten = 0;
  /** Writers not closed yet: they know the index entries that are not in the index file yet. */
  private readonly live = new Map<string, LogWriter>();

  /** With servers sharing PostgreSQL: logs are copied into the database and read from it by the others. */
  private readonly chunks: LogChunks | null;

  constructor(
    private readonly root: string,
    /** The shared PostgreSQL database (none on SQLite, whose one server reads its own files). */
    sharedDb?: Db,
  ) {
    mkdirSync(root, { recursive: true });
    this.events.setMaxListeners(0);
    this.chunks = sharedDb ? new LogChunks(sharedDb, (id) => this.file(id)) : null;
  }

  private file(actionExecutionId: string): string {
    return path.join(this.root, `${actionExecutionId}.log`);
  }

  /** A fresh log for an action execution (a previous attempt's log is replaced). */
  writer(actionExecutionId: string): LogWriter {
    this.chunks?.started(actionExecutionId);
    const writer: LogWriter = new LogWriter(
      this.file(actionExecutionId),
      (bytes) => {
        this.bytesWritten += bytes;
        this.events.emit(actionExecutionId);
        this.chunks?.grew(actionExecutionId);
      },
      unchanged,
      undefined,
      () => this.forget(actionExecutionId, writer),
    );
    this.live.set(actionExecutionId, writer);
    return this.copiedOnClose(actionExecutionId, writer);
  }

  /** With chunks, a writer's close resolves once every line it wrote is in the database too. */
  private copiedOnClose(id: string, writer: LogWriter): LogWriter {
    const chunks = this.chunks;
    if (chunks === null) return writer;
    const close = writer.close.bind(writer);
    writer.close = async () => {
      await close();
      await chunks.closed(id);
    };
    return writer;
  }

  private forget(actionExecutionId: string, writer: LogWriter): void {
    if (this.live.get(actionExecutionId) === writer) this.live.delete(actionExecutionId);
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
    const { lines, marks } = await this.scan(actionExecutionId);
    // Index entries are written in batches: a writer that died (with its process) may have left some
    // out, and entries appended after a gap would point at the wrong lines. Then it is written anew.
    const indexBytes = await fsp.stat(file + '.idx').then(
      (st) => st.size,
      () => 0,
    );
    if (indexBytes !== marks.length * 8) {
      const index = Buffer.allocUnsafe(marks.length * 8);
      marks.forEach((offset, i) => index.writeBigUInt64LE(BigInt(offset), i * 8));
      await fsp.writeFile(file + '.idx', index);
    }
    const writer: LogWriter = new LogWriter(
      file,
      (written) => {
        this.bytesWritten += written;
        this.events.emit(actionExecutionId);
        this.chunks?.grew(actionExecutionId);
      },
      unchanged,
      { bytes, lines, marks: marks.length },
      () => this.forget(actionExecutionId, writer),
    );
    this.live.set(actionExecutionId, writer);
    return this.copiedOnClose(actionExecutionId, writer);
  }

  /**
   * Adds a line of Gantry's own to a finished log (a gate's approval); returns the log's line count.
   * With servers sharing PostgreSQL, a log this server holds no file of (another server wrote it) goes
   * on in the database, where every server reads it.
   */
  async appendLine(actionExecutionId: string, text: string): Promise<number> {
    if (this.chunks && !(await exists(this.file(actionExecutionId))))
      return this.chunks.append(actionExecutionId, text + '\n');
    const log = await this.appender(actionExecutionId);
    await log.line(text);
    await log.close();
    return log.lines;
  }

  /**
   * Lines [offset, offset+limit) of a log; fewer at its end. With servers sharing PostgreSQL, a log
   * another server continued (a gate approved there) goes on in the database after this file's end.
   */
  async readLines(actionExecutionId: string, offset: number, limit: number): Promise<string[]> {
    const out = await this.readOwnLines(actionExecutionId, offset, limit);
    if (this.chunks && out.length < limit && !this.live.has(actionExecutionId))
      out.push(...(await this.chunks.readLines(actionExecutionId, offset + out.length, limit - out.length)));
    return out;
  }

  private async readOwnLines(actionExecutionId: string, offset: number, limit: number): Promise<string[]> {
    const file = this.file(actionExecutionId);
    // Another server's log: from the database (by the caller).
    if (this.chunks && !(await exists(file))) return [];
    let start = 0;
    let line = 0;
    const block = Math.floor(offset / INDEX_EVERY);
    const liveMark = block > 0 ? this.live.get(actionExecutionId)?.markOf(block) : undefined;
    if (liveMark !== undefined) {
      start = liveMark;
      line = block * INDEX_EVERY;
    } else if (block > 0) {
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
    return (await this.scan(actionExecutionId)).lines;
  }

  /** The lines of a log on disk and the index entries that belong to them (byte offsets of every INDEX_EVERY-th line). */
  private async scan(actionExecutionId: string): Promise<{ lines: number; marks: number[] }> {
    let lines = 0;
    let offset = 0;
    const marks: number[] = [];
    try {
      for await (const chunk of createReadStream(this.file(actionExecutionId)) as AsyncIterable<Buffer>) {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
          lines += 1;
          // Line `lines` starts right after this newline.
          if (lines % INDEX_EVERY === 0) marks.push(offset + i + 1);
        }
        offset += chunk.length;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // An entry for a line that has not begun yet (the log ends with that newline) is not written yet.
    if (marks.length > 0 && marks[marks.length - 1] === offset) marks.pop();
    return { lines, marks };
  }

  async remove(actionExecutionIds: readonly string[]): Promise<void> {
    await this.chunks?.remove(actionExecutionIds);
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

/** A run of bytes one stream wrote into its open line, in the order the container wrote them. */
interface Segment {
  stream: string;
  bytes: Buffer;
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
  private readonly out: BlockFile;
  /** Partial last line per output stream, so a stdout fragment never merges with a stderr line. */
  private readonly pending = new Map<string, Buffer>();
  private bytes = 0;
  /**
   * The last bytes (fewer than the longest secret form) of the streams' open lines, interleaved as the
   * container wrote them, so a secret written in pieces on both streams is seen whole.
   */
  private timeline: Segment[] = [];
  lines = 0;
  /** Byte offset of line (k + 1) × INDEX_EVERY at k, all of them while the writer is open. */
  private readonly marks: number[] = [];
  /** How many of `marks` went to the index file. */
  private marksWritten = 0;
  /** Entries the index file held before this writer (a resumed log). */
  private marksBefore = 0;
  private readonly indexFlags: 'a' | 'w';
  /** Opened with the first batch of index entries: most logs are shorter than INDEX_EVERY lines. */
  private index: WriteStream | null = null;
  private readonly indexFile: string;

  constructor(
    file: string,
    /** Called after each write with the number of bytes it added to the file. */
    private readonly onWrite: (bytes: number) => void,
    private transform: LineTransform = unchanged,
    /**
     * Continue a log that holds `bytes` bytes in `lines` lines, and `marks` entries in its index file,
     * instead of starting it anew.
     */
    resume?: { bytes: number; lines: number; marks: number },
    /** Called once the files are complete after close(). */
    private readonly onClosed: () => void = () => undefined,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    const flags = resume ? 'a' : 'w';
    this.out = new BlockFile(file, flags, FILE_BEHIND_MAX);
    this.indexFile = file + '.idx';
    this.indexFlags = flags;
    if (resume) {
      this.bytes = resume.bytes;
      this.lines = resume.lines;
      this.marksBefore = resume.marks;
    } else {
      // A previous attempt's index must not describe this log (the index file is made on demand).
      rmSync(this.indexFile, { force: true });
    }
  }

  /** Bytes of whole lines handed to the file so far. */
  get size(): number {
    return this.bytes;
  }

  /** The byte offset of line `block` × INDEX_EVERY (block ≥ 1), if this writer wrote it. */
  markOf(block: number): number | undefined {
    return block > this.marksBefore ? this.marks[block - 1 - this.marksBefore] : undefined;
  }

  private mark(offset: number): void {
    this.marks.push(offset);
    if (this.marks.length - this.marksWritten >= INDEX_BATCH) this.writeMarks();
  }

  private writeMarks(): void {
    const count = this.marks.length - this.marksWritten;
    if (count === 0) return;
    const buf = Buffer.allocUnsafe(8 * count);
    for (let i = 0; i < count; i += 1)
      buf.writeBigUInt64LE(BigInt(this.marks[this.marksWritten + i]!), i * 8);
    this.marksWritten += count;
    this.index ??= createWriteStream(this.indexFile, { flags: this.indexFlags });
    this.index.write(buf);
  }

  setTransform(transform: LineTransform): void {
    this.transform = transform;
  }

  /**
   * Appends raw output (bytes, or text as UTF-8). Returns a promise only when the file is behind and
   * the caller should wait before writing more (back-pressure for the container stream). The
   * complete lines of a chunk are announced once: per-line writes and events were the main cost of
   * streaming 100 MB. Nothing of `chunk` is kept past the call (the file copies what it writes, an
   * open line is copied), so the caller may read the next output into the same buffer.
   */
  write(chunk: Buffer | string, stream = 'gantry'): Promise<void> | undefined {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const chunkMemory = bytes.buffer;
    const reach = this.transform.ranges !== undefined ? (this.transform.reach ?? 0) : 0;
    if (reach > 0) bytes = this.maskAcrossStreams(bytes, stream, reach);
    const written = this.bytes;
    const before = this.pending.get(stream);
    let head: Buffer | null = null;
    if (before !== undefined && before.length > 0) {
      // Only the line the previous chunk left open (with a held-back wrapped base64 line before it) is
      // copied, not the whole chunk: it completes with the chunk's first line. With masking, a completed
      // line as wide as a wrapped base64 line must be looked at with the line after it (see
      // wrappedPairs): then the open line goes with the whole chunk.
      const first = bytes.indexOf(NL);
      const width = before.length - (before.lastIndexOf(NL) + 1) + first;
      if (first < 0 || (reach > 0 && wrapWidth(width))) bytes = Buffer.concat([before, bytes]);
      else {
        head = Buffer.concat([before, bytes.subarray(0, first + 1)]);
        bytes = bytes.subarray(first + 1);
      }
    }
    let last = bytes.lastIndexOf(NL);
    // A last line that may be base64 wrapped mid-secret waits for the next line (see wrappedPairs).
    if (reach > 0 && last >= 0) {
      const previous = last > 0 ? bytes.lastIndexOf(NL, last - 1) : -1;
      if (isWrappedBase64(bytes.subarray(previous + 1, last))) last = previous;
    }
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
    // The open line is kept, so it is copied unless it is already a buffer of this writer's own.
    this.pending.set(stream, rest.buffer === chunkMemory ? Buffer.from(rest) : rest);
    if (pieces.length > 0) out.push(pieces.join(''));
    if (out.length === 0) return undefined;
    let ok = true;
    for (const piece of out) ok = this.out.write(piece);
    this.onWrite(this.bytes - written);
    return ok ? undefined : this.out.drained();
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
   * Masks a secret the container wrote in pieces on both streams, however many times it switched
   * (stdout, stderr, stdout...). Lines are assembled per stream, so the pieces would otherwise be masked
   * apart. The open lines' last bytes, interleaved as written (the timeline), are checked together with
   * this chunk's first line; a secret found across a switch becomes *** where it began, and its pieces
   * are removed from the other open lines and from this chunk. (Every later piece of a stream sits at the
   * end of that stream's open line, so each removal is a suffix.)
   */
  private maskAcrossStreams(bytes: Buffer, stream: string, reach: number): Buffer {
    let result = bytes;
    const nl = bytes.indexOf(NL);
    const head = bytes.subarray(0, Math.min(nl < 0 ? bytes.length : nl, reach));
    const history = Buffer.concat(this.timeline.map((seg) => seg.bytes));
    // Where the trailing run of this stream's own bytes begins: a match starting there is within one line.
    let own = history.length;
    for (let k = this.timeline.length - 1; k >= 0 && this.timeline[k]!.stream === stream; k -= 1)
      own -= this.timeline[k]!.bytes.length;
    const across =
      own > 0 && head.length > 0
        ? this.transform.ranges!(Buffer.concat([history, head])).find(
            ([start, end]) => start < own && end > history.length,
          )
        : undefined;
    if (across !== undefined) {
      const [start, end] = across;
      const covered = new Map<string, number>();
      let first: string | null = null;
      let at = 0;
      for (const seg of this.timeline) {
        const from = Math.max(start, at);
        const to = Math.min(end, at + seg.bytes.length);
        if (to > from) {
          first ??= seg.stream;
          covered.set(seg.stream, (covered.get(seg.stream) ?? 0) + (to - from));
        }
        at += seg.bytes.length;
      }
      for (const [s, count] of covered) {
        const open = this.pending.get(s) ?? Buffer.alloc(0);
        const kept = open.subarray(0, Math.max(0, open.length - count));
        this.pending.set(s, s === first ? Buffer.concat([kept, STARS]) : kept);
      }
      result = bytes.subarray(end - history.length);
      this.timeline = [];
    }
    this.record(result, stream, reach);
    return result;
  }

  /** Adds what `stream` writes to the timeline: a newline ends its open line, so its earlier bytes leave. */
  private record(bytes: Buffer, stream: string, reach: number): void {
    const last = bytes.lastIndexOf(NL);
    if (last >= 0) {
      this.timeline = this.timeline.filter((seg) => seg.stream !== stream);
      bytes = bytes.subarray(last + 1);
    }
    if (bytes.length > 0) {
      const tail = this.timeline[this.timeline.length - 1];
      if (tail?.stream === stream) tail.bytes = Buffer.concat([tail.bytes, bytes.subarray(-reach)]);
      else this.timeline.push({ stream, bytes: Buffer.from(bytes.subarray(-reach)) });
    }
    // Only the last reach - 1 bytes can begin a secret that ends in a later chunk.
    let excess = this.timeline.reduce((n, seg) => n + seg.bytes.length, 0) - (reach - 1);
    while (excess > 0 && this.timeline.length > 0) {
      const oldest = this.timeline[0]!;
      if (oldest.bytes.length <= excess) {
        excess -= oldest.bytes.length;
        this.timeline.shift();
      } else {
        oldest.bytes = oldest.bytes.subarray(excess);
        excess = 0;
      }
    }
  }

  /** Complete lines (`block` ends with a newline) as they go to the file. */
  private lineBlock(block: Buffer): Buffer | string {
    const t = this.transform;
    // One pass over the lines serves both the count and the base64-wrap check: per-line work (a search,
    // a view of the line) was a large share of the CPU of a 100 MB log with masking on.
    const scan = scanLines(block, this.lines);
    const pairs = t.ranges !== undefined && scan.wrapWide ? wrappedPairs(block, t.ranges) : null;
    const needsTransform =
      pairs !== null ||
      (t.anyInBytes !== undefined
        ? t.anyInBytes(block)
        : t.anyIn !== undefined
          ? t.anyIn(block.toString('utf8'))
          : true);
    if (needsTransform || block.indexOf(CR) >= 0) {
      const parts: string[] = [];
      const lines: string[] = [];
      const text = block.toString('utf8');
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        const end = nl > start && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
        lines.push(text.slice(start, end));
        start = nl + 1;
      }
      if (pairs !== null) unwrapSecrets(lines, t.ranges!);
      for (const line of lines) this.append(parts, line, needsTransform ? t : null);
      return parts.join('');
    }
    for (const start of scan.marks) this.mark(this.bytes + start);
    this.lines += scan.lines;
    this.bytes += block.length;
    return block;
  }

  /** A block of whole lines going to the file as is: counts the lines and notes every INDEX_EVERY-th's offset. */
  private count(block: Buffer): void {
    let start = 0;
    let nl: number;
    while ((nl = block.indexOf(NL, start)) >= 0) {
      if (this.lines > 0 && this.lines % INDEX_EVERY === 0) this.mark(this.bytes + start);
      this.lines += 1;
      start = nl + 1;
    }
    this.bytes += block.length;
  }

  /**
   * Appends whole lines (`block` ends with a newline) byte for byte: a remote worker's log, already
   * split, trimmed and masked by the worker's own writer. Rewriting it again (a line ending in CR
   * would lose it) would move the byte offsets the worker resumes from, doubling or losing lines.
   */
  writeLines(block: Buffer): Promise<void> {
    if (block.length === 0) return Promise.resolve();
    if (block[block.length - 1] !== NL) throw new Error('writeLines takes whole lines');
    const written = this.bytes;
    this.count(block);
    this.out.write(block);
    this.onWrite(this.bytes - written);
    // Resolves once the bytes are in the file: the worker is told it may forget them only then, so
    // a server killed right after its answer still has them.
    return this.out.flushed();
  }

  /** Writes a line of Gantry's own (e.g. "Pulling image ..."). */
  async line(text: string): Promise<void> {
    await this.write(text + '\n');
  }

  private append(parts: string[], raw: string, transform: LineTransform | null): void {
    if (this.lines > 0 && this.lines % INDEX_EVERY === 0) this.mark(this.bytes);
    const data = (transform === null ? raw : transform(raw)) + '\n';
    this.bytes += Buffer.byteLength(data);
    this.lines += 1;
    parts.push(data);
  }

  /** Flushes a last partial line and closes the files. */
  async close(): Promise<void> {
    const parts: string[] = [];
    const written = this.bytes;
    for (const rest of this.pending.values()) {
      if (rest.length === 0) continue;
      // A held-back wrapped line may be in there with the open line after it.
      const block = this.lineBlock(
        rest[rest.length - 1] === NL ? rest : Buffer.concat([rest, Buffer.from('\n')]),
      );
      parts.push(typeof block === 'string' ? block : block.toString('utf8'));
    }
    this.pending.clear();
    if (parts.length > 0) {
      this.out.write(parts.join(''));
      this.onWrite(this.bytes - written);
    }
    this.writeMarks();
    const index = this.index;
    try {
      await Promise.all([this.out.end(), index && new Promise<void>((resolve) => index.end(resolve))]);
    } finally {
      this.onClosed();
    }
  }
}

/** Line widths base64 tools wrap at: 76 (base64(1), MIME) and 64 (openssl, PEM). */
const MIME_WRAP = 76;
const PEM_WRAP = 64;
const WRAP_WIDTHS = new Set([MIME_WRAP, PEM_WRAP]);

/** Whether a line of `width` bytes (without its newline, perhaps with a CR) can be a wrapped base64 line. */
function wrapWidth(width: number): boolean {
  // Compared directly, not looked up in WRAP_WIDTHS: this runs for every line of every log.
  return width === MIME_WRAP || width === PEM_WRAP || width === MIME_WRAP + 1 || width === PEM_WRAP + 1;
}

/**
 * The lines of `block` (complete lines), in one search per line: how many, the offsets in `block` of
 * the lines whose number (counting `linesBefore` earlier ones) is a multiple of INDEX_EVERY, and
 * whether any line has the width of a wrapped base64 line (only then can wrappedPairs find anything).
 */
function scanLines(
  block: Buffer,
  linesBefore: number,
): { lines: number; marks: number[]; wrapWide: boolean } {
  const marks: number[] = [];
  let wrapWide = false;
  let lines = 0;
  let start = 0;
  let nl: number;
  while ((nl = block.indexOf(NL, start)) >= 0) {
    const number = linesBefore + lines;
    if (number > 0 && number % INDEX_EVERY === 0) marks.push(start);
    if (!wrapWide && wrapWidth(nl - start)) wrapWide = true;
    lines += 1;
    start = nl + 1;
  }
  return { lines, marks, wrapWide };
}
const BASE64_CHARS = /^[A-Za-z0-9+/_-]+$/;

/** A line as a base64 encoder writes every line but the last of a wrapped encoding. */
function isWrappedBase64(line: Buffer): boolean {
  const n = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
  return WRAP_WIDTHS.has(n) && BASE64_CHARS.test(line.toString('latin1', 0, n));
}

/**
 * Whether `block` (complete lines) holds a wrapped base64 line whose end and the next line's start
 * together show a secret form: a secret encoded inside a longer input (`printf "user:%s" | base64`)
 * lands across a line break at any of the three alignments; each line alone shows only a piece of it.
 * null when there is none (the common case costs one pass over the newlines).
 */
function wrappedPairs(block: Buffer, ranges: (b: Buffer) => [number, number][]): true | null {
  let start = 0;
  let nl = block.indexOf(NL);
  while (nl >= 0) {
    const next = block.indexOf(NL, nl + 1);
    if (next < 0) break;
    // The width first: a view of every line would cost an object per line.
    if (wrapWidth(nl - start)) {
      const line = block.subarray(start, nl);
      if (isWrappedBase64(line)) {
        const end = line[line.length - 1] === CR ? line.length - 1 : line.length;
        const joined = Buffer.concat([line.subarray(0, end), block.subarray(nl + 1, next)]);
        if (ranges(joined).some(([s, e]) => s < end && e > end)) return true;
      }
    }
    start = nl + 1;
    nl = next;
  }
  return null;
}

/** Masks secret forms that a base64 line wrap cut in two: *** where the form began, its rest removed. */
function unwrapSecrets(lines: string[], ranges: (b: Buffer) => [number, number][]): void {
  for (let k = 0; k + 1 < lines.length; k += 1) {
    const line = lines[k]!;
    if (!isWrappedBase64(Buffer.from(line, 'latin1'))) continue;
    const joined = Buffer.from(line + lines[k + 1]!, 'utf8');
    const across = ranges(joined).find(([s, e]) => s < line.length && e > line.length);
    if (across === undefined) continue;
    const [s, e] = across;
    lines[k] = line.slice(0, s) + '***';
    lines[k + 1] = joined.subarray(e).toString('utf8');
  }
}

function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}
