import net from 'node:net';
import { FrameDemultiplexer, type OutputSink } from './docker-streams.ts';

/** Where the engine listens: a unix socket, or a plain-HTTP host and port. */
export type EngineAddress = { socketPath: string } | { host: string; port: number };

/** The buffer every read of one attachment lands in. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Output is handed on once this much has gathered... */
const HAND_ON_BYTES = 64 * 1024;
/** ...or this long after the first byte not handed on yet arrived, whichever comes first. */
const HAND_ON_MS = 2;
/** The least room a read gets: with less left, what the buffer holds is handed on and reading starts over at its front. */
const READ_ROOM_BYTES = 64 * 1024;
/** The most of an answer's head, or of an error answer's body, kept. */
const ANSWER_MAX = 64 * 1024;

/** An engine answer other than the upgrade, shaped like docker-modem's errors (statusCode, json). */
export class AttachRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: unknown,
  ) {
    super(`HTTP ${statusCode}`);
  }
}

/**
 * Attaches to a container's stdout and stderr over a connection of its own, reading into one buffer
 * (`net.Socket`'s `onread`) instead of a fresh 64 KB buffer per read: the engine's output makes almost no
 * JavaScript garbage on its way to the log, so buffers the collector had not freed yet used to pile up
 * outside the heap (tens of MB of RSS during a 100 MB log).
 *
 * Reads land one after the other in the buffer, and what gathered is handed on once it reaches 64 KB or
 * 2 ms after its first byte: a container that writes 4 KB at a time (a pipe's worth, as `yes | head`
 * does) would otherwise cost a trip through the demultiplexer and the log writer per 4 KB, which is most
 * of the CPU a large log costs. The frames are demultiplexed in that buffer (see FrameDemultiplexer), so
 * the sink gets views it must copy from during the call.
 *
 * Back-pressure: while a promise the sink returned is pending the socket is not read, so the engine
 * stops reading the container's pipes.
 *
 * Resolves once the engine answered the upgrade (it registers the attachment first, so a container
 * started afterwards loses no output) with `done`, which settles when the output ends; `close` ends the
 * connection early. Rejects with AttachRefused for an HTTP error answer, or with the socket's error.
 */
export function attachConnection(
  address: EngineAddress,
  containerId: string,
  sink: OutputSink,
): Promise<{ done: Promise<void>; close: () => void }> {
  return new Promise((resolveAttach, rejectAttach) => {
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    const demux = new FrameDemultiplexer(sink);
    let phase: 'head' | 'refused' | 'output' | 'over' = 'head';
    /** buffer[start, fill) was read and not handed on yet; the next read lands at `fill`. */
    let start = 0;
    let fill = 0;
    let timer: NodeJS.Timeout | null = null;
    /** An error answer: its status and the body so far. */
    let refusal: {
      status: number;
      contentLength: number | null;
      chunked: boolean;
      body: Buffer;
    } | null = null;
    /** The sink's pending promise, if any: reading resumes when it settles. */
    let waiting: Promise<void> | undefined;
    let resolveDone!: () => void;
    let rejectDone!: (err: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    // Marked handled: the caller awaits it only after start and wait.
    done.catch(() => {});

    const stopTimer = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    };
    const fail = (err: unknown): void => {
      if (phase === 'over') return;
      const attached = phase === 'output';
      phase = 'over';
      stopTimer();
      socket.destroy();
      if (attached) rejectDone(err);
      else rejectAttach(err);
    };

    /** Hands buffer[start, fill) to the demultiplexer; false when the sink asked to wait. */
    const handOn = (): boolean => {
      stopTimer();
      const from = start;
      start = fill;
      if (fill === from) return true;
      let pending: Promise<void> | undefined;
      try {
        pending = demux.push(buffer, from, fill);
      } catch (err) {
        fail(err);
        return false;
      }
      if (pending === undefined) return true;
      waiting = pending;
      pending.then(
        () => {
          if (waiting === pending) waiting = undefined;
          if (phase === 'output') socket.resume();
        },
        (err: unknown) => fail(err),
      );
      return false;
    };
    const onTimer = (): void => {
      timer = null;
      if (phase === 'output' && !handOn()) socket.pause();
    };
    /** New output at buffer[fill - n, fill): hand on now or soon. */
    const output = (): boolean => {
      let go = true;
      if (fill - start >= HAND_ON_BYTES || buffer.length - fill < READ_ROOM_BYTES) {
        go = handOn();
        // Everything read is handed on (the sink copied it), so reading starts over at the front.
        start = fill = 0;
      } else if (timer === null && fill > start) timer = setTimeout(onTimer, HAND_ON_MS);
      return go;
    };

    /** Whether an error answer's body is complete (the engine keeps the connection open after it). */
    const refusalComplete = (): boolean =>
      refusal!.chunked
        ? refusal!.body.subarray(-5).toString('latin1') === '0\r\n\r\n'
        : refusal!.contentLength !== null && refusal!.body.length >= refusal!.contentLength;
    const refuse = (): void => {
      const text = (refusal!.chunked ? unchunk(refusal!.body) : refusal!.body).toString('utf8');
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: the text is the message
      }
      fail(new AttachRefused(refusal!.status, json));
    };
    /** The answer's head is buffer[0, fill) so far. */
    const answer = (): boolean => {
      const end = buffer.subarray(0, fill).indexOf('\r\n\r\n');
      if (end < 0) {
        if (fill > ANSWER_MAX) fail(new Error('the engine sent an endless answer head'));
        return true;
      }
      const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
      if (status === 101 || status === 200) {
        phase = 'output';
        start = end + 4;
        resolveAttach({ done, close: () => socket.destroy() });
        return output();
      }
      const lengthHeader = lines.find((l) => /^content-length:/i.test(l));
      refusal = {
        status: Number.isFinite(status) ? status : 500,
        contentLength: lengthHeader ? Number(lengthHeader.slice(lengthHeader.indexOf(':') + 1)) : null,
        chunked: lines.some((l) => /^transfer-encoding:\s*chunked/i.test(l)),
        body: Buffer.from(buffer.subarray(end + 4, fill)),
      };
      phase = 'refused';
      start = fill = 0;
      if (refusalComplete()) refuse();
      return true;
    };
    const onRead = (nread: number): boolean => {
      fill += nread;
      if (phase === 'output') return output();
      if (phase === 'head') return answer();
      if (phase === 'refused') {
        refusal!.body = Buffer.concat([refusal!.body, buffer.subarray(0, fill)]);
        start = fill = 0;
        if (refusalComplete() || refusal!.body.length > ANSWER_MAX) refuse();
        return true;
      }
      return false;
    };
    const finish = (): void => {
      if (phase === 'refused') return refuse();
      if (phase !== 'output') return fail(new Error('the engine closed the connection before answering'));
      handOn();
      phase = 'over';
      let last: Promise<void> | undefined;
      try {
        last = demux.end();
      } catch (err) {
        return rejectDone(err);
      }
      // Whatever the sink still works on is part of the output's end.
      Promise.all([waiting, last]).then(() => resolveDone(), rejectDone);
    };

    const socket = net.connect({
      ...('socketPath' in address ? { path: address.socketPath } : address),
      // Each read lands after the bytes before it (a function: asked again after every read).
      onread: { buffer: () => buffer.subarray(fill), callback: onRead },
    });
    socket.setNoDelay(true);
    socket.once('connect', () => {
      const host = 'socketPath' in address ? 'docker' : `${address.host}:${address.port}`;
      socket.write(
        `POST /containers/${encodeURIComponent(containerId)}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n` +
          `Host: ${host}\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
      );
    });
    socket.on('error', fail);
    socket.on('end', finish);
    // Destroyed by close(), or closed without an end: nothing more comes.
    socket.on('close', () => {
      if (phase !== 'over') finish();
    });
  });
}

/** The body of a chunked HTTP answer. */
function unchunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
