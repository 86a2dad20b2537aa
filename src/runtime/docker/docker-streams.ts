import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from '../container-runtime.ts';

/** Receives demultiplexed output; a returned promise pauses reading until it settles. */
export type OutputSink = (chunk: Buffer, stream: OutputStream) => void | Promise<void>;

/**
 * Splits Docker's multiplexed attach stream (used when Tty is false) into stdout and stderr chunks.
 *
 * Each frame is an 8-byte header (stream type 0/1/2, three zero bytes, big-endian uint32 payload length)
 * followed by the payload. Payload bytes are handed to `sink` as soon as they arrive, without waiting for
 * the whole frame, so memory use stays bounded by the socket's chunk size whatever the output volume.
 * Reading is driven by async iteration, so while `sink`'s promise is pending nothing more is read and
 * TCP back-pressure reaches the engine.
 *
 * A header that does not look like one means the container has a TTY (raw, unframed output); from then on
 * everything is passed through as stdout.
 */
export async function demultiplex(source: AsyncIterable<Buffer | string>, sink: OutputSink): Promise<void> {
  const header = Buffer.alloc(8);
  let headerFill = 0;
  let remaining = 0; // payload bytes still due in the current frame
  let current: OutputStream = 'stdout';
  let raw = false;
  let sawFrame = false;

  const emit = async (chunk: Buffer, stream: OutputStream): Promise<void> => {
    if (chunk.length === 0) return;
    const pending = sink(chunk, stream);
    // Only await real promises: an extra microtask per chunk is measurable on 100 MB of output.
    if (pending !== undefined) await pending;
  };

  for await (const data of source) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (raw) {
      await emit(chunk, 'stdout');
      continue;
    }
    let offset = 0;
    while (offset < chunk.length) {
      if (remaining > 0) {
        const end = Math.min(chunk.length, offset + remaining);
        const piece = chunk.subarray(offset, end);
        remaining -= piece.length;
        offset = end;
        await emit(piece, current);
        continue;
      }
      const take = Math.min(8 - headerFill, chunk.length - offset);
      chunk.copy(header, headerFill, offset, offset + take);
      headerFill += take;
      offset += take;
      if (headerFill < 8) break; // header continues in the next chunk
      headerFill = 0;
      const type = header[0];
      if ((type !== 0 && type !== 1 && type !== 2) || header[1] !== 0 || header[2] !== 0 || header[3] !== 0) {
        raw = true;
        await emit(Buffer.from(header), 'stdout'); // copy: `header` is reused
        await emit(chunk.subarray(offset), 'stdout');
        break;
      }
      sawFrame = true;
      current = type === 2 ? 'stderr' : 'stdout';
      remaining = header.readUInt32BE(4);
    }
  }
  // Fewer than 8 bytes in total from a TTY container: they were never a header.
  if (!raw && !sawFrame && headerFill > 0) await emit(Buffer.from(header.subarray(0, headerFill)), 'stdout');
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
