import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDriver from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteAdapter,
  sql,
  type Migration,
  type MigrationProvider,
  type SqliteDatabase,
} from 'kysely';
import type pg from 'pg';
import { pgDriver } from './pg-driver.ts';
import type { Database } from './schema.ts';
import { isPostgres } from './dialect.ts';
import { BusyAwareSqliteDialect, SQLITE_BUSY_TIMEOUT_MS } from './sqlite-busy.ts';
import * as m001 from './migrations/001-initial.ts';
import * as m002 from './migrations/002-workspace-restrictions-by-id.ts';
import * as m003 from './migrations/003-variables-environments.ts';
import * as m004 from './migrations/004-integrations-packages.ts';
import * as m006 from './migrations/006-buddy-fields.ts';
import * as m007 from './migrations/007-teams.ts';
import * as m007x02 from './migrations/007-teams-02-pipeline-permissions-in-settings.ts';
import * as m008x01 from './migrations/008-01-pipeline-trigger-state.ts';
import * as m008x02 from './migrations/008-02-trigger-webhooks.ts';
import * as m008x03 from './migrations/008-03-pipeline-schedules.ts';
import * as m008x04 from './migrations/008-04-workspace-webhooks.ts';
import * as m014x02 from './migrations/014-02-log-chunks.ts';
import * as m015 from './migrations/015-workers.ts';
import * as m016x01 from './migrations/016-01-stream-tickets.ts';
import * as m021x01 from './migrations/021-01-approvals.ts';
import * as m013x01 from './migrations/013-01-external-repositories.ts';
import * as m020x01 from './migrations/020-01-server-leases.ts';
import * as m024x01 from './migrations/024-01-package-contents.ts';

export type Db = Kysely<Database>;

const MIGRATIONS: Record<string, Migration> = {
  '001-initial': m001,
  '002-workspace-restrictions-by-id': m002,
  '003-variables-environments': m003,
  '004-integrations-packages': m004,
  '006-buddy-fields': m006,
  '007-teams': m007,
  '007-teams-02-pipeline-permissions-in-settings': m007x02,
  '008-01-pipeline-trigger-state': m008x01,
  '008-02-trigger-webhooks': m008x02,
  '008-03-pipeline-schedules': m008x03,
  '008-04-workspace-webhooks': m008x04,
  '014-02-log-chunks': m014x02,
  '015-workers': m015,
  '016-01-stream-tickets': m016x01,
  '021-01-approvals': m021x01,
  '013-01-external-repositories': m013x01,
  '020-01-server-leases': m020x01,
  '024-01-package-contents': m024x01,
};

class StaticMigrations implements MigrationProvider {
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(MIGRATIONS);
  }
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing was the largest single cost of a
 * simple GET. Queries are built from a small set of shapes, so a bounded cache by SQL text (LRU,
 * `size` entries) reuses statements. Kysely runs one query at a time per connection, so a cached
 * statement is never busy when it is handed out again.
 */
function withStatementCache(sqlite: SqliteDriver.Database, size = 500): SqliteDatabase {
  const cache = new Map<string, SqliteDriver.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) cache.delete(sql);
      else statement = sqlite.prepare(sql);
      cache.set(sql, statement);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
      return statement;
    },
  };
}

/** A `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * PostgreSQL types the store reads as JavaScript numbers: `COUNT(*)` and `SUM` are bigint (int8) and
 * AVG is numeric, which `pg` hands out as strings by default. Gantry's counts stay far below 2^53.
 */
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const { types } = pgDriver();
    if (oid === types.builtins.INT8 || oid === types.builtins.NUMERIC) return (v: string) => Number(v);
    return types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** A pool on the PostgreSQL database named by `url` (also used for LISTEN/NOTIFY and tests). */
export function postgresPool(url: string, max = 10): pg.Pool {
  const pool = new (pgDriver().Pool)({
    connectionString: url,
    max,
    types: PG_TYPES,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

/** A key of this application's advisory lock, held while migrating so that servers starting together take turns. */
const MIGRATION_LOCK = 0x67616e74; // "gant"

async function migrate(db: Kysely<Database>): Promise<void> {
  const run = async (on: Kysely<Database>) => {
    const { error, results } = await new Migrator({
      db: on,
      provider: new StaticMigrations(),
      // Each area of work has its own number prefix, so a lower number may land after a higher one
      // already ran somewhere: it still runs (migrations touch their own tables and columns).
      allowUnorderedMigrations: true,
    }).migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed)
      throw new Error(
        `database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`,
      );
  };
  if (!isPostgres(db)) return run(db);
  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      await run(conn);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });
}

/**
 * Opens the database named by `url` and applies every pending migration: empty or `sqlite:<file>` is
 * SQLite (empty: `<dataDir>/gantry.db`), in WAL mode so that API reads never wait behind the engine's
 * writes; `postgres://user:pass@host:port/db` is PostgreSQL through a connection pool.
 */
export async function openDatabase(url: string, dataDir: string): Promise<Db> {
  const db = isPostgresUrl(url)
    ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(url) }) })
    : openSqlite(url, dataDir);
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

function openSqlite(url: string, dataDir: string): Db {
  let file: string;
  if (url === '' || url.startsWith('sqlite:')) {
    file = url === '' ? path.join(dataDir, 'gantry.db') : url.slice('sqlite:'.length).replace(/^\/\//, '');
  } else {
    throw new Error(
      `unsupported database URL "${url}": use sqlite:<file> or postgres://user:pass@host:port/db`,
    );
  }
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDriver(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  // Waits for another process's write lock happen between attempts (sqlite-busy.ts), not in here.
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  // Deleted or overwritten cells are zeroed in the pages being written anyway, so a value replaced by
  // its sealed form does not linger in the page it left (see forgetOverwrittenValues).
  sqlite.pragma('secure_delete = FAST');
  return new Kysely<Database>({
    dialect: new BusyAwareSqliteDialect({ database: withStatementCache(sqlite) }),
  });
}

/**
 * After a clear value was replaced by a sealed one (a variable switched to encrypted), makes the
 * database files forget the clear one. SQLite: the write-ahead log still holds the page as it was until a
 * checkpoint copies the new page over it and the log is truncated (secure_delete already zeroed the old
 * cell in the page); retries while readers hold the log. PostgreSQL: an UPDATE leaves the old row version
 * in the table's pages until VACUUM; VACUUM FULL rewrites the (small) variables table into a new file, so
 * the old version is in no file PostgreSQL keeps. It waits at most 5 s for its lock; if it cannot get it,
 * a plain VACUUM (which takes no exclusive lock and frees the dead version's space) runs instead.
 * PostgreSQL's write-ahead log segments keep the change until they are recycled (see README).
 */
export async function forgetOverwrittenValues(db: Db): Promise<void> {
  if (isPostgres(db)) {
    // VACUUM cannot run inside a transaction: one pooled connection, outside any.
    await db.connection().execute(async (conn) => {
      await sql`SET lock_timeout = '5s'`.execute(conn);
      try {
        await sql`VACUUM FULL variables`.execute(conn);
      } catch {
        await sql`VACUUM variables`.execute(conn);
      } finally {
        await sql`RESET lock_timeout`.execute(conn);
      }
    });
    return;
  }
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const { rows } = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
    if (rows[0]?.busy === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
