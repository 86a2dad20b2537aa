import { promises as fsp } from 'node:fs';
import { sql } from 'kysely';
import type { Db } from '../store/database.ts';

/** The LISTEN/NOTIFY channel carrying the id of every action execution whose log grew (PostgreSQL). */
export const LOG_CHANNEL = 'gantry_log';

/** How long new output waits before it is copied, so that a busy log becomes a few large chunks. */
const COPY_DELAY_MS = 100;
/** The most bytes one chunk holds. */
const CHUNK_BYTES = 1024 * 1024;

interface Copied {
  bytes: number;
  lines: number;
}

/**
 * Copies action logs from this server's files into the database (`log_chunks`) for servers sharing a
 * PostgreSQL: whole lines only, as chunks with their first line's number, shortly after they were
 * written and completely when the writer closes (before the step's end is reported), then announces
 * them with NOTIFY so that other servers' live streams read on. Work on one log runs in order.
 */
export class LogChunks {
  private readonly copied = new Map<string, Copied>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly db: Db,
    private readonly fileOf: (actionExecutionId: string) => string,
  ) {}

  private enqueue<T>(id: string, work: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(id) ?? Promise.resolve()).then(work, work);
    const settled: Promise<unknown> = next.catch(() => {});
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next;
  }

  /** A new log replaces the previous attempt's. */
  started(id: string): void {
    this.cancelTimer(id);
    this.copied.set(id, { bytes: 0, lines: 0 });
    void this.enqueue(id, async () => {
      await this.db.deleteFrom('log_chunks').where('action_execution_id', '=', id).execute();
    });
  }

  /** Output was written: copy it soon. */
  grew(id: string): void {
    if (this.timers.has(id)) return;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      void this.enqueue(id, () => this.copy(id)).catch(() => {});
    }, COPY_DELAY_MS);
    timer.unref();
    this.timers.set(id, timer);
  }

  /** The writer closed: everything it wrote is copied when this resolves. */
  closed(id: string): Promise<void> {
    this.cancelTimer(id);
    return this.enqueue(id, async () => {
      await this.copy(id);
      this.copied.delete(id);
    });
  }

  private cancelTimer(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  private async copy(id: string): Promise<void> {
    let state = this.copied.get(id);
    if (!state) {
      // A log continued by this process (a worker's resent log): start after what the database holds.
      const last = await this.db
        .selectFrom('log_chunks')
        .select(['first_line', 'line_count', 'byte_end'])
        .where('action_execution_id', '=', id)
        .orderBy('first_line', 'desc')
        .limit(1)
        .executeTakeFirst();
      state = last
        ? { bytes: Number(last.byte_end), lines: last.first_line + last.line_count }
        : { bytes: 0, lines: 0 };
      this.copied.set(id, state);
    }
    let handle;
    try {
      handle = await fsp.open(this.fileOf(id), 'r');
    } catch {
      return;
    }
    try {
      for (;;) {
        const buf = Buffer.alloc(CHUNK_BYTES);
        const { bytesRead } = await handle.read(buf, 0, CHUNK_BYTES, state.bytes);
        const end = buf.subarray(0, bytesRead).lastIndexOf(10);
        if (end < 0) return;
        const data = buf.subarray(0, end + 1);
        let lines = 0;
        for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) lines += 1;
        await this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('log_chunks')
            .values({
              action_execution_id: id,
              first_line: state.lines,
              line_count: lines,
              byte_end: state.bytes + data.length,
              data,
            })
            .onConflict((oc) => oc.doNothing())
            .execute();
          await sql`select pg_notify(${LOG_CHANNEL}, ${id})`.execute(trx);
        });
        state.bytes += data.length;
        state.lines += lines;
        if (bytesRead < CHUNK_BYTES) return;
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Appends whole lines (`text`, each ending in a newline) to a log this server holds no file of (a
   * gate approved here that another server's runner reached), after what the database holds, and
   * announces them. Returns the log's line count.
   */
  async append(id: string, text: string): Promise<number> {
    const data = Buffer.from(text);
    let lines = 0;
    for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) lines += 1;
    return this.enqueue(id, () =>
      this.db.transaction().execute(async (trx) => {
        const last = await trx
          .selectFrom('log_chunks')
          .select(['first_line', 'line_count', 'byte_end'])
          .where('action_execution_id', '=', id)
          .orderBy('first_line', 'desc')
          .limit(1)
          .forUpdate()
          .executeTakeFirst();
        const first = last ? last.first_line + last.line_count : 0;
        await trx
          .insertInto('log_chunks')
          .values({
            action_execution_id: id,
            first_line: first,
            line_count: lines,
            byte_end: (last ? Number(last.byte_end) : 0) + data.length,
            data,
          })
          .execute();
        await sql`select pg_notify(${LOG_CHANNEL}, ${id})`.execute(trx);
        return first + lines;
      }),
    );
  }

  /** Lines [offset, offset + limit) of a log as the database holds it. */
  async readLines(id: string, offset: number, limit: number): Promise<string[]> {
    const chunks = await this.db
      .selectFrom('log_chunks')
      .select(['first_line', 'line_count', 'data'])
      .where('action_execution_id', '=', id)
      .where('first_line', '<', offset + limit)
      .where((eb) => eb(eb('first_line', '+', eb.ref('line_count')), '>', offset))
      .orderBy('first_line')
      .execute();
    const out: string[] = [];
    let expected: number | null = null;
    for (const c of chunks) {
      // Chunks are contiguous; a gap (a chunk not yet committed) ends what can be served now.
      if (expected !== null && c.first_line !== expected) break;
      expected = c.first_line + c.line_count;
      const lines = Buffer.from(c.data).toString('utf8').split('\n');
      lines.pop();
      for (const [i, line] of lines.entries()) {
        const n = c.first_line + i;
        if (n >= offset && n < offset + limit) out.push(line);
      }
    }
    return out;
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) this.cancelTimer(id);
    await this.db.deleteFrom('log_chunks').where('action_execution_id', 'in', ids).execute();
  }
}
