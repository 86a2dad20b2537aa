import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDriver from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationProvider } from 'kysely';
import { openDatabase } from '../database.ts';
import type { Database } from '../schema.ts';
import * as m001 from './001-initial.ts';

test('tokens of a database made before 002 keep reaching the same workspaces, by id', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-m002-'));
  try {
    // A data directory as the first release left it: restrictions written as domains.
    const old = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new SqliteDriver(path.join(dir, 'gantry.db')) }),
    });
    const provider: MigrationProvider = { getMigrations: () => Promise.resolve({ '001-initial': m001 }) };
    assert.equal((await new Migrator({ db: old, provider }).migrateToLatest()).error, undefined);
    await old
      .insertInto('users')
      .values({ name: 'admin', email: 'a@b', admin: 1, create_date: 'x' })
      .execute();
    for (const domain of ['alpha', 'beta'])
      await old
        .insertInto('workspaces')
        .values({ domain, name: domain, owner_id: 1, frozen: 0, create_date: 'x' })
        .execute();
    const token = (id: string, restrictions: string[]) => ({
      id,
      user_id: 1,
      name: id,
      token_hash: id,
      scopes: '[]',
      ip_restrictions: '[]',
      workspace_restrictions: JSON.stringify(restrictions),
      expires_at: null,
      create_date: 'x',
    });
    await old
      .insertInto('tokens')
      .values([token('all', []), token('beta', ['beta']), token('gone', ['deleted-ws'])])
      .execute();
    await old.destroy();

    const db = await openDatabase('', dir);
    const rows = await db
      .selectFrom('tokens')
      .select(['id', 'workspace_restrictions'])
      .orderBy('id')
      .execute();
    await db.destroy();
    assert.deepEqual(
      rows.map((r) => [r.id, JSON.parse(r.workspace_restrictions)]),
      // A domain naming no workspace becomes 0: still restricted, to nothing.
      [
        ['all', []],
        ['beta', [2]],
        ['gone', [0]],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
