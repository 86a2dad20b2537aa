import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDriver from 'better-sqlite3';
import pg from 'pg';
import { startGantry, type Harness } from '../support/harness.ts';
import { testDatabaseKind } from '../support/database.ts';

/**
 * A variable created in clear and then switched to encrypted must not leave its clear value in the
 * database files. On SQLite: neither in the write-ahead log (the page as it was) nor in the main file
 * (the cell the value left), whichever of them held it when the switch came. On PostgreSQL: in none of
 * the database's relation files (the old row version an UPDATE leaves in the table's page), read from
 * the server's data directory after a CHECKPOINT wrote the shared buffers out. PostgreSQL's WAL segments
 * are not checked: they keep the change until recycled (README, "Security model").
 */
const sqliteOnly = { skip: testDatabaseKind() !== 'sqlite' && "the files checked are SQLite's" };
const postgresOnly = { skip: testDatabaseKind() !== 'postgres' && "the files checked are PostgreSQL's" };

let h: Harness;
before(async () => {
  h = await startGantry();
  const ws = await h.request('POST', '/api/workspaces', { name: 'WS', domain: 'ws' });
  assert.equal(ws.status, 201, JSON.stringify(ws.body));
});
after(async () => {
  await h.close();
});

function databaseFilesHolding(clear: string): string[] {
  return readdirSync(h.dataDir)
    .filter((f) => f.startsWith('gantry.db'))
    .filter((f) => readFileSync(path.join(h.dataDir, f)).includes(clear));
}

async function switchToEncrypted(clear: string, checkpointFirst: boolean): Promise<void> {
  const created = await h.request('POST', '/api/workspaces/ws/variables', {
    key: `K_${clear.replace(/-/g, '_')}`,
    value: clear,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.notDeepEqual(databaseFilesHolding(clear), [], 'the clear value was written');
  if (checkpointFirst) {
    // As SQLite's automatic checkpoint would after 1000 pages: the clear value moves to the main file.
    const other = new SqliteDriver(path.join(h.dataDir, 'gantry.db'));
    other.pragma('wal_checkpoint(TRUNCATE)');
    other.close();
  }
  const patched = await h.request('PATCH', `/api/workspaces/ws/variables/${created.body.id}`, {
    encrypted: true,
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.encrypted, true);
  assert.deepEqual(databaseFilesHolding(clear), [], 'no database file holds the clear value');
}

test(
  'switching a variable to encrypted leaves no clear value in the write-ahead log',
  sqliteOnly,
  async () => {
    await switchToEncrypted('Plain-In-The-WAL-4821', false);
  },
);

test(
  'switching a variable to encrypted leaves no clear value in the main database file',
  sqliteOnly,
  async () => {
    await switchToEncrypted('Plain-In-The-Main-File-7730', true);
  },
);

/** The files of the server's PostgreSQL database (base/<oid>/*) that hold `clear`, after a checkpoint. */
async function postgresFilesHolding(clear: string): Promise<string[]> {
  const admin = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query('CHECKPOINT');
    const dataDir = (await admin.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!
      .data_directory;
    const name = new URL(h.databaseUrl).pathname.slice(1);
    const oid = (await admin.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = $1', [name]))
      .rows[0]!.oid;
    const dir = path.join(dataDir, 'base', String(oid));
    return readdirSync(dir).filter((f) => {
      try {
        return readFileSync(path.join(dir, f)).includes(clear);
      } catch {
        return false; // removed meanwhile (a relation dropped by a rewrite)
      }
    });
  } finally {
    await admin.end();
  }
}

test(
  'switching a variable to encrypted leaves no clear value in the PostgreSQL database files',
  postgresOnly,
  async () => {
    const clear = 'Plain-In-A-Postgres-Page-5519';
    const created = await h.request('POST', '/api/workspaces/ws/variables', { key: 'K_PG', value: clear });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.notDeepEqual(await postgresFilesHolding(clear), [], 'the clear value was written to a table file');
    const patched = await h.request('PATCH', `/api/workspaces/ws/variables/${created.body.id}`, {
      encrypted: true,
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.encrypted, true);
    assert.deepEqual(await postgresFilesHolding(clear), [], 'no table or index file holds the clear value');
    const read = await h.request('GET', `/api/workspaces/ws/variables/${created.body.id}`);
    assert.equal(read.status, 200);
  },
);
