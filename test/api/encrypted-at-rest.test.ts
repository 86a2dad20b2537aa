import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDriver from 'better-sqlite3';
import { startGantry, type Harness } from '../support/harness.ts';
import { testDatabaseKind } from '../support/database.ts';

/**
 * A variable created in clear and then switched to encrypted must not leave its clear value in the
 * database files: neither in the write-ahead log (the page as it was) nor in the main file (the cell
 * the value left), whichever of them held it when the switch came. SQLite only: these are its
 * files (PostgreSQL keeps old row versions until VACUUM, as the README says).
 */
const sqliteOnly = { skip: testDatabaseKind() !== 'sqlite' && "the files checked are SQLite's" };

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
