import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from '../container-runtime.ts';

/** Receives demultiplexed output; a returned promise pauses reading until it settles. */
export type OutputSink = (chunk: Buffer, stream: OutputStream) => void | Promise<void>;

/**
 * Splits Docker's multiplexed attach stream (used when Tty is false) into stdout and stderr blocks, in
 * the buffer it was read into.
 *
 * Each frame is an 8-byte header (stream type 0/1/2, three zero bytes, big-endian uint32 payload length)
 * followed by the payload. The payloads of consecutive frames of one stream in a read are moved
 * together over the headers between them (one memmove each), so the sink gets one block per stream and
 * read instead of one per frame piece: the log's per-block work (the secret pre-check, the line that
 * continues from the last block) is paid a few hundred times per 100 MB instead of tens of thousands.
 * Payload bytes are handed on as soon as they arrive, without waiting for the whole frame, so memory
 * use stays bounded by the read size whatever the output volume.
 *
 * The sink gets views into the caller's read buffer, valid only during the call: it copies what it
 * keeps. A sink's promise means "read no more until I am done" and is passed back from push().
 *
 * A header that does not look like one means the container has a TTY (raw, unframed output); from then on
 * everything is passed through as stdout.
 */
export class FrameDemultiplexer {
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  /** Payload bytes still due in the current frame. */
  private remaining = 0;
  private current: OutputStream = 'stdout';
  private raw = false;
  private sawFrame = false;

  constructor(private readonly sink: OutputSink) {}

  /**
   * Takes `buf[start, end)`; the demultiplexer may rearrange those bytes. Returns a promise when the sink
   * asked to wait before more is read.
   */
  push(buf: Buffer, start = 0, end = buf.length): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    const emit = (from: number, to: number, stream: OutputStream): void => {
      if (to <= from) return;
      const pending = this.sink(buf.subarray(from, to), stream);
      if (pending !== undefined) waits.push(pending);
    };
    if (this.raw) {
      emit(start, end, 'stdout');
      return settle(waits);
    }
    // [runStart, out) holds the payload gathered so far for `this.current`; `at` is the read position.
    let runStart = start;
    let out = start;
    let at = start;
    while (at < end) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, end - at);
        if (at !== out) buf.copyWithin(out, at, at + take);
        out += take;
        at += take;
        this.remaining -= take;
        continue;
      }
      const take = Math.min(8 - this.headerFill, end - at);
      buf.copy(this.header, this.headerFill, at, at + take);
      this.headerFill += take;
      at += take;
      if (this.headerFill < 8) break; // the header continues in the next read
      this.headerFill = 0;
      const h = this.header;
      const type = h[0];
      if ((type !== 0 && type !== 1 && type !== 2) || h[1] !== 0 || h[2] !== 0 || h[3] !== 0) {
        this.raw = true;
        emit(runStart, out, this.current);
        // A copy: `header` is reused.
        const pending = this.sink(Buffer.from(h), 'stdout');
        if (pending !== undefined) waits.push(pending);
        emit(at, end, 'stdout');
        return settle(waits);
      }
      this.sawFrame = true;
      const stream: OutputStream = type === 2 ? 'stderr' : 'stdout';
      if (stream !== this.current) {
        emit(runStart, out, this.current);
        runStart = out;
        this.current = stream;
      }
      this.remaining = h.readUInt32BE(4);
    }
    emit(runStart, out, this.current);
    return settle(waits);
  }

  /** The output ended: fewer than 8 bytes in total from a TTY container were never a header. */
  end(): Promise<void> | undefined {
    if (this.raw || this.sawFrame || this.headerFill === 0) return undefined;
    const rest = Buffer.from(this.header.subarray(0, this.headerFill));
    this.headerFill = 0;
    return this.sink(rest, 'stdout') ?? undefined;
  }
}

/** Demultiplexes a stream of separately allocated chunks (dockerode's hijacked socket) into `sink`. */
export async function demultiplexStream(
  source: AsyncIterable<Buffer | string>,
  sink: OutputSink,
): Promise<void> {
  const demux = new FrameDemultiplexer(sink);
  for await (const data of source) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const pending = demux.push(chunk);
    if (pending !== undefined) await pending;
  }
  await demux.end();
}

function settle(waits: Promise<void>[]): Promise<void> | undefined {
  if (waits.length === 0) return undefined;
  if (waits.length === 1) return waits[0];
  return Promise.all(waits).then(() => undefined);
}

/** One message of the engine's JSON progress streams (pull, push, build). */
export interface ProgressMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * Parses a newline-delimited JSON progress stream message by message, without collecting it (a build's output
 * can be large). A line that is not JSON is surfaced as `{ stream: line }` rather than failing the operation.
 */
export async function* progressMessages(
  source: AsyncIterable<Buffer | string>,
): AsyncGenerator<ProgressMessage> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const parse = (line: string): ProgressMessage | undefined => {
    const trimmed = line.trim();
    if (trimmed === '') return undefined;
    try {
      const value: unknown = JSON.parse(trimmed);
      return value !== null && typeof value === 'object'
        ? (value as ProgressMessage)
        : { stream: `${trimmed}\n` };
    } catch {
      return { stream: `${trimmed}\n` };
    }
  };
  for await (const data of source) {
    pending += typeof data === 'string' ? data : decoder.write(data);
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const message = parse(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      if (message) yield message;
    }
  }
  pending += decoder.end();
  const last = parse(pending);
  if (last) yield last;
}

/** The error text of a progress message, if it reports a failure. */
export function progressError(message: ProgressMessage): string | undefined {
  if (message.errorDetail?.message) return message.errorDetail.message;
  if (message.error) return message.error;
  return undefined;
}

/**
 * Reassembles build output (`stream` fragments that need not end at line breaks) into whole lines.
 * A line longer than `maxLine` characters is emitted in pieces so one endless line cannot exhaust memory.
 */
export class LineSplitter {
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 64 * 1024,
  ) {}

  push(text: string): void {
    let rest = this.partial + text;
    let newline: number;
    while ((newline = rest.indexOf('\n')) >= 0) {
      this.onLine(rest.slice(0, newline).replace(/\r$/, ''));
      rest = rest.slice(newline + 1);
    }
    while (rest.length > this.maxLine) {
      this.onLine(rest.slice(0, this.maxLine));
      rest = rest.slice(this.maxLine);
    }
    this.partial = rest;
  }

  flush(): void {
    if (this.partial !== '') this.onLine(this.partial.replace(/\r$/, ''));
    this.partial = '';
  }
}
