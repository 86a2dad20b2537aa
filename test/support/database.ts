import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/**
 * The database the tests run on. `TEST_DATABASE=postgres` runs every server a test starts on a
 * fresh PostgreSQL database under `TEST_POSTGRES_URL` (scripts/setup-postgres.sh starts one and
 * exports it); anything else runs on SQLite in the test's data directory. scripts/test.sh runs the
 * store, API and engine tests once for each.
 */
export function testDatabaseKind(): 'sqlite' | 'postgres' {
  return process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
}

/** The PostgreSQL server of the tests (an admin URL), or null when none was started. */
export function testPostgresUrl(): string | null {
  return process.env.TEST_POSTGRES_URL || null;
}

export interface TestDatabase {
  /** The URL a server is given (`--database-url`); '' means SQLite in the data directory. */
  url: string;
  /** Removes the database (PostgreSQL; connections still open are ended). */
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = testPostgresUrl();
  if (!url) throw new Error('TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL database on the test server, whatever the suite's kind (for tests that need one): new
 * and empty, or, given a `key` (a data directory), the one of that key, made on first use, so that a
 * server started again on the same data directory finds its data.
 */
export async function createPostgresDatabase(key?: string): Promise<TestDatabase> {
  const id = key
    ? createHash('sha256').update(key).digest('hex').slice(0, 16)
    : randomBytes(8).toString('hex');
  const name = `gantry_test_${id}`;
  await admin(async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await c.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(testPostgresUrl()!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * A database of the suite's kind for one test (shared by every server process of that test): new, or
 * the one of `key` (see createPostgresDatabase). On SQLite the URL is '' (the data directory's file).
 */
export async function createTestDatabase(key?: string): Promise<TestDatabase> {
  if (testDatabaseKind() === 'postgres') return createPostgresDatabase(key);
  return { url: '', drop: () => Promise.resolve() };
}

/**
 * Everything the database holds, to search for what must never be stored in clear: the SQLite files
 * (main file, WAL, shared memory) as bytes, or every row of every PostgreSQL table as text.
 */
export async function storedDatabaseBytes(databaseUrl: string, dataDir: string): Promise<Buffer> {
  if (databaseUrl === '' || databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl === '' ? path.join(dataDir, 'gantry.db') : databaseUrl.slice('sqlite:'.length);
    const dir = path.dirname(file);
    return Buffer.concat(
      readdirSync(dir)
        .filter((f) => f.startsWith(path.basename(file)))
        .map((f) => readFileSync(path.join(dir, f))),
    );
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    const parts: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`);
      parts.push(...rows.rows.map((r) => r.row));
    }
    return Buffer.from(parts.join('\n'));
  } finally {
    await client.end();
  }
}
