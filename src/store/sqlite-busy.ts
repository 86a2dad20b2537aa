import type { Statement } from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type SqliteDatabase,
} from 'kysely';

/**
 * SQLite answered "busy" (another process holds the write lock) for longer than a writer waits: the
 * API answers 503 with Retry-After, never 500.
 */
export class DatabaseBusyError extends Error {}

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_RECOVERY, ...). */
export function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/**
 * How long SQLite itself waits for a lock, blocking the event loop (better-sqlite3 is synchronous):
 * short, because longer waits happen below, between attempts, with the event loop free.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 50;
/** How long a statement or the start of a write transaction waits in all before DatabaseBusyError. */
const BUSY_WAIT_MS = 15_000;
const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');

async function retryWhileBusy<T>(attempt: () => Promise<T>): Promise<T> {
  const end = Date.now() + BUSY_WAIT_MS;
  let pause = 2;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!isSqliteBusy(err)) throw err;
      if (Date.now() >= end)
        throw new DatabaseBusyError(
          `the database is busy: another process has held its write lock for ${BUSY_WAIT_MS / 1000} s`,
        );
      await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 50);
    }
  }
}

/** Marks a compiled query whose rows the SQLite connection returns as arrays of the columns' values. */
const ARRAY_ROWS = Symbol('array rows');

/**
 * `sql` with its rows as arrays (the selected columns in order) where the driver can make them so
 * (SQLite; see BusyRetryingConnection), else as objects. Arrays spare better-sqlite3 building one
 * object per row, property by property, which was a third of reading a 20-row page.
 */
export function arrayRowsQuery(sql: string, parameters: readonly unknown[]): CompiledQuery {
  return Object.assign({ [ARRAY_ROWS]: true }, CompiledQuery.raw(sql, parameters as unknown[]));
}

/**
 * The one SQLite connection, retrying a statement outside a transaction while the database is busy:
 * a statement on its own is atomic, so a busy one changed nothing and runs again. Inside a
 * transaction (which holds the write lock from its start) statements run as they are.
 */
class BusyRetryingConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(
    private readonly inner: DatabaseConnection,
    private readonly database: SqliteDatabase,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const run =
      ARRAY_ROWS in query ? () => this.arrayRows<R>(query) : () => this.inner.executeQuery<R>(query);
    if (this.inTransaction) return run();
    return retryWhileBusy(run);
  }

  /** Runs a reading query on the same connection, through the same statement cache, in raw mode. */
  private arrayRows<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.database.prepare(query.sql) as unknown as Statement;
    // Switched back at once: the statement cache hands the same statement to every query of this text.
    statement.raw(true);
    try {
      return Promise.resolve({ rows: statement.all(query.parameters) as R[] });
    } finally {
      statement.raw(false);
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * Kysely's SQLite driver with write transactions for several processes on one file: a transaction
 * starts with BEGIN IMMEDIATE, taking the write lock before its first read. A deferred BEGIN reads
 * first and upgrades at its first write, which fails at once with SQLITE_BUSY_SNAPSHOT (no wait
 * helps) when another process wrote in between. Every transaction here writes, so nothing is lost by
 * taking the lock first; waiting for it happens between attempts, not inside SQLite's busy handler.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  private connection: BusyRetryingConnection | null = null;

  constructor(private readonly database: SqliteDatabase) {
    super({ database });
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    this.connection ??= new BusyRetryingConnection(inner, this.database);
    return this.connection;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as BusyRetryingConnection;
    await c.executeQuery(BEGIN_IMMEDIATE);
    c.inTransaction = true;
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await super.commitTransaction(connection);
    (connection as BusyRetryingConnection).inTransaction = false;
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } finally {
      (connection as BusyRetryingConnection).inTransaction = false;
    }
  }
}

/** Kysely's SQLite dialect with ImmediateSqliteDriver. */
export class BusyAwareSqliteDialect extends SqliteDialect {
  constructor(private readonly options: { database: SqliteDatabase }) {
    super(options);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.options.database);
  }
}
