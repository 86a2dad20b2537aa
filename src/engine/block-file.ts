import { close, openSync, writev } from 'node:fs';

/** The blocks output is gathered in on its way to the file. */
const BLOCK_BYTES = 256 * 1024;
/** Spare blocks kept for the next writes (of any log) instead of being left to the garbage collector. */
const SPARE_BLOCKS = 8;
const spare: Buffer[] = [];

function takeBlock(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);
}

function giveBack(block: Buffer): void {
  if (spare.length < SPARE_BLOCKS) spare.push(block);
}

/** A filled part of a block, on its way to the file. */
interface Piece {
  block: Buffer;
  length: number;
}

/**
 * An append-only file written through a few reusable 256 KB blocks. A write copies its bytes into the
 * current block, so the caller may reuse its buffer as soon as write() returns (the attach connection
 * reads every container's output into one buffer). Full blocks go to the file at once, one writev at a
 * time; the partly filled block goes once the event loop has taken in the reads that were ready
 * (setImmediate), or when the write before it finishes: a busy log becomes few large writes, a quiet
 * one reaches the file within a turn of the event loop. Blocks come back to a small shared pool, so a
 * long log allocates nothing and leaves nothing outside the heap for the collector to find.
 */
export class BlockFile {
  private readonly fd: number;
  private current: Buffer | null = null;
  private fill = 0;
  private readonly queued: Piece[] = [];
  private queuedBytes = 0;
  private writing: Piece[] | null = null;
  private writingBytes = 0;
  private flushScheduled = false;
  private failure: Error | null = null;
  private drainWaiters: (() => void)[] = [];
  /** Bytes handed to write() so far, and bytes of them in the file. */
  private accepted = 0;
  private landed = 0;
  private flushWaiters: { upTo: number; resolve: () => void }[] = [];
  private endWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private ended: Promise<void> | null = null;
  private ending = false;
  private closed = false;

  constructor(
    file: string,
    flags: 'w' | 'a',
    /** Bytes not yet in the file above which write() asks the caller to wait (drained()). */
    private readonly highWaterMark: number,
  ) {
    this.fd = openSync(file, flags, 0o666);
  }

  /** Bytes written but not yet in the file. */
  get pendingBytes(): number {
    return this.fill + this.queuedBytes + this.writingBytes;
  }

  /** Copies `data` for the file; false when the caller should wait for drained() before writing more. */
  write(data: Buffer | string): boolean {
    if (this.failure !== null || this.ending) return true;
    let bytes: Buffer;
    if (typeof data === 'string') {
      const length = Buffer.byteLength(data);
      if (length === 0) return this.belowHighWater();
      this.accepted += length;
      if (length <= BLOCK_BYTES - this.fill) {
        this.current ??= takeBlock();
        this.fill += this.current.write(data, this.fill);
        this.scheduleFlush();
        return this.belowHighWater();
      }
      bytes = Buffer.from(data, 'utf8');
    } else {
      bytes = data;
      this.accepted += bytes.length;
    }
    let at = 0;
    while (at < bytes.length) {
      this.current ??= takeBlock();
      const copied = bytes.copy(this.current, this.fill, at);
      this.fill += copied;
      at += copied;
      if (this.fill === BLOCK_BYTES) this.queueCurrent();
    }
    this.pump();
    this.scheduleFlush();
    return this.belowHighWater();
  }

  /** Resolves once fewer than the high-water mark of bytes wait for the file (or writing failed). */
  drained(): Promise<void> {
    if (this.belowHighWater() || this.failure !== null) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Resolves once every byte written so far is in the file (a process killed afterwards leaves it
   * there), or writing failed.
   */
  flushed(): Promise<void> {
    if (this.landed >= this.accepted || this.failure !== null) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ upTo: this.accepted, resolve }));
  }

  private releaseFlushWaiters(all: boolean): void {
    const waiting = this.flushWaiters;
    this.flushWaiters = [];
    for (const w of waiting)
      if (all || w.upTo <= this.landed) w.resolve();
      else this.flushWaiters.push(w);
  }

  /** Writes what is left and closes the file; rejects when a write failed. */
  end(): Promise<void> {
    if (this.ended !== null) return this.ended;
    this.ending = true;
    this.ended = new Promise<void>((resolve, reject) => this.endWaiters.push({ resolve, reject }));
    this.queueCurrent();
    this.pump();
    this.maybeClose();
    return this.ended;
  }

  private belowHighWater(): boolean {
    return this.pendingBytes < this.highWaterMark;
  }

  private queueCurrent(): void {
    if (this.current === null) return;
    if (this.fill > 0) {
      this.queued.push({ block: this.current, length: this.fill });
      this.queuedBytes += this.fill;
    } else giveBack(this.current);
    this.current = null;
    this.fill = 0;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.fill === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // While a write is on its way, what gathers meanwhile goes with the next one (see pump).
      if (this.writing === null) {
        this.queueCurrent();
        this.pump();
      }
    });
  }

  /** Starts one writev of everything queued, unless one is on its way. */
  private pump(): void {
    if (this.writing !== null || this.queued.length === 0 || this.failure !== null) return;
    const pieces = this.queued.splice(0);
    this.writing = pieces;
    this.writingBytes = this.queuedBytes;
    this.queuedBytes = 0;
    this.writeAll(pieces.map((p) => p.block.subarray(0, p.length)));
  }

  private writeAll(views: Buffer[]): void {
    writev(this.fd, views, (err, written) => {
      if (err) return this.fail(err);
      // A short write (a full disk, a signal) leaves the rest to write again.
      let rest = views;
      let skip = written;
      while (rest.length > 0 && skip >= rest[0]!.length) {
        skip -= rest[0]!.length;
        rest = rest.slice(1);
      }
      if (rest.length > 0) {
        if (written === 0) return this.fail(new Error('the log file took no bytes'));
        rest[0] = rest[0]!.subarray(skip);
        return this.writeAll(rest);
      }
      this.written();
    });
  }

  private written(): void {
    for (const piece of this.writing!) giveBack(piece.block);
    this.landed += this.writingBytes;
    this.releaseFlushWaiters(false);
    this.writing = null;
    this.writingBytes = 0;
    // What gathered during the write goes now: the next write carries everything since.
    this.queueCurrent();
    this.pump();
    if (this.belowHighWater()) this.releaseDrainWaiters();
    this.maybeClose();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.writing = null;
    this.writingBytes = 0;
    this.queued.length = 0;
    this.queuedBytes = 0;
    this.current = null;
    this.fill = 0;
    this.releaseDrainWaiters();
    this.releaseFlushWaiters(true);
    this.maybeClose();
  }

  private releaseDrainWaiters(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private maybeClose(): void {
    if (!this.ending || this.closed || this.writing !== null || this.queued.length > 0 || this.fill > 0)
      return;
    this.closed = true;
    close(this.fd, (err) => {
      const failure = this.failure ?? err;
      for (const waiter of this.endWaiters.splice(0))
        if (failure) waiter.reject(failure);
        else waiter.resolve();
    });
  }
}
