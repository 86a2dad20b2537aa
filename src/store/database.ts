import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDriver from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  SqliteAdapter,
  SqliteDialect,
  sql,
  type Migration,
  type MigrationProvider,
  type SqliteDatabase,
} from 'kysely';
import type { Database } from './schema.ts';
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
import * as m015 from './migrations/015-workers.ts';
import * as m016x01 from './migrations/016-01-stream-tickets.ts';
import * as m013x01 from './migrations/013-01-external-repositories.ts';

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
  '015-workers': m015,
  '016-01-stream-tickets': m016x01,
  '013-01-external-repositories': m013x01,
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

/**
 * Opens the database named by `url` (empty: `<dataDir>/gantry.db`) and applies every pending migration.
 * SQLite runs in WAL mode so that API reads never wait behind the engine's writes.
 */
export async function openDatabase(url: string, dataDir: string): Promise<Db> {
  let file: string;
  if (url === '' || url.startsWith('sqlite:')) {
    file = url === '' ? path.join(dataDir, 'gantry.db') : url.slice('sqlite:'.length).replace(/^\/\//, '');
  } else {
    throw new Error(
      url.startsWith('postgres')
        ? `not supported yet: PostgreSQL (${url}); Gantry runs on SQLite so far`
        : `unsupported database URL "${url}": only sqlite: is built in so far`,
    );
  }
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDriver(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  // Deleted or overwritten cells are zeroed in the pages being written anyway, so a value replaced by
  // its sealed form does not linger in the page it left (see forgetOverwrittenValues).
  sqlite.pragma('secure_delete = FAST');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  // Each developer's migrations have their own number prefix and land in any order, so a database
  // that already ran a later-numbered one must still run an earlier-numbered newcomer.
  const { error, results } = await new Migrator({
    db,
    provider: new StaticMigrations(),
    allowUnorderedMigrations: true,
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(
      `database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`,
    );
  }
  return db;
}

/**
 * After a clear value was replaced by a sealed one (a variable switched to encrypted), makes the
 * database files forget the clear one: SQLite's write-ahead log still holds the page as it was until a
 * checkpoint copies the new page over it and the log is truncated (secure_delete already zeroed the
 * old cell in the page). Retries while readers hold the log. Nothing to do on other databases here.
 */
export async function forgetOverwrittenValues(db: Db): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const { rows } = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
    if (rows[0]?.busy === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
