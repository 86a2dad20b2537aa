import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { pgDriver } from './pg-driver.ts';
import type { Logger } from 'pino';
import { isPostgres } from './dialect.ts';

/** The LISTEN/NOTIFY channel carrying the id of every execution created or moved (PostgreSQL). */
export const EXECUTION_CHANNEL = 'gantry_execution';

/** Tells the other server processes (when the transaction commits) that an execution was created or moved. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function notifyExecutionChanged(trx: Kysely<any>, executionId: number): Promise<void> {
  if (isPostgres(trx)) await sql`select pg_notify(${EXECUTION_CHANNEL}, ${String(executionId)})`.execute(trx);
}

const RECONNECT_MS = 1_000;

/**
 * Changes made by other server processes on the same PostgreSQL, through LISTEN/NOTIFY: one dedicated
 * connection LISTENs on the given channels and hands each payload to its handler. A lost connection is
 * opened again (after which `onReconnect` runs, since notifications sent meanwhile are gone), and
 * `onReconnect` also runs every `safetyPollMs` as a safety net. SQLite has one process: nothing to listen to.
 */
export class ChangeFeed {
  private client: pg.Client | null = null;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly url: string,
    private readonly handlers: Record<string, (payload: string) => void>,
    private readonly onReconnect: () => void,
    private readonly logger: Logger,
    safetyPollMs: number,
  ) {
    this.timer = setInterval(() => this.onReconnect(), safetyPollMs);
    this.timer.unref();
  }

  static async open(
    url: string,
    handlers: Record<string, (payload: string) => void>,
    onReconnect: () => void,
    logger: Logger,
    safetyPollMs: number,
  ): Promise<ChangeFeed> {
    const feed = new ChangeFeed(url, handlers, onReconnect, logger, safetyPollMs);
    await feed.connect();
    return feed;
  }

  private async connect(): Promise<void> {
    const client = new (pgDriver().Client)({ connectionString: this.url });
    client.on('notification', (n) => {
      const handler = this.handlers[n.channel];
      if (handler) handler(n.payload ?? '');
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners('error');
      client.on('error', () => {});
      void client.end().catch(() => {});
      if (!this.closed) setTimeout(() => void this.reconnect(), RECONNECT_MS).unref();
    };
    client.on('error', (err) => {
      this.logger.warn({ err }, 'database change feed lost its connection; reconnecting');
      lost();
    });
    client.on('end', lost);
    await client.connect();
    for (const channel of Object.keys(this.handlers)) await client.query(`LISTEN ${channel}`);
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    try {
      await this.connect();
      this.onReconnect();
    } catch (err) {
      this.logger.warn({ err }, 'database change feed cannot reconnect yet');
      setTimeout(() => void this.reconnect(), RECONNECT_MS).unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => {});
  }
}
