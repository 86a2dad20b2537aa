import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { reusableArrayQuery, reusableQuery } from '../../src/store/reusable-query.ts';
import { createPostgresDatabase, testDatabaseKind, type TestDatabase } from '../support/database.ts';

let db: Db;
let dir: string;
let postgres: TestDatabase | null = null;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gantry-reusable-'));
  if (testDatabaseKind() === 'postgres') postgres = await createPostgresDatabase();
  db = await openDatabase(postgres?.url ?? '', dir);
  for (const [name, admin] of [
    ['ann', 1],
    ['bob', 0],
    ['cid', 1],
  ] as const)
    await db
      .insertInto('users')
      .values({ name, email: `${name}@example.com`, admin, create_date: new Date().toISOString() })
      .execute();
});

after(async () => {
  await db.destroy();
  await postgres?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('a reusable query binds each call its own arguments, and keeps values fixed when it was built', async () => {
  const byAdminAndName = reusableQuery(2, (d, admin: number, name: string) =>
    d
      .selectFrom('users')
      .select('name')
      .where('admin', '=', admin)
      .where('name', '!=', name)
      .orderBy('name')
      .limit(5),
  );
  assert.deepEqual(
    (await byAdminAndName(db, 1, 'ann')).map((r) => r.name),
    ['cid'],
  );
  assert.deepEqual(
    (await byAdminAndName(db, 1, 'zed')).map((r) => r.name),
    ['ann', 'cid'],
  );
  assert.deepEqual(
    (await byAdminAndName(db, 0, 'ann')).map((r) => r.name),
    ['bob'],
  );
  // Inside a transaction it runs on the transaction's connection.
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ admin: 0 }).where('name', '=', 'cid').execute();
    assert.deepEqual(
      (await byAdminAndName(trx, 1, 'zed')).map((r) => r.name),
      ['ann'],
    );
  });
});

test('a build that does not bind every argument is refused', async () => {
  const unbound = reusableQuery(2, (d, name: string, _unused: string) =>
    d.selectFrom('users').select('name').where('name', '=', name),
  );
  await assert.rejects(unbound(db, 'ann', 'x'), /1 of 2 arguments bound/);
});

test('an array query gives each row as its columns in the order selected, and leaves object rows alone', async () => {
  const byAdmin = reusableArrayQuery(1, (d, admin: number) =>
    d.selectFrom('users').select(['name', 'admin', 'email']).where('admin', '=', admin).orderBy('name'),
  );
  const sameText = reusableQuery(1, (d, admin: number) =>
    d.selectFrom('users').select(['name', 'admin', 'email']).where('admin', '=', admin).orderBy('name'),
  );
  // (The first test left cid no admin.)
  assert.deepEqual(await byAdmin(db, 0), [
    ['bob', 0, 'bob@example.com'],
    ['cid', 0, 'cid@example.com'],
  ]);
  // The statement of the same text, which the statement cache shares, still gives objects.
  assert.deepEqual((await sameText(db, 0))[0], { name: 'bob', admin: 0, email: 'bob@example.com' });
  assert.deepEqual(await byAdmin(db, 7), []);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ admin: 0 }).where('name', '=', 'ann').execute();
    assert.deepEqual(
      (await byAdmin(trx, 0)).map((r) => r[0]),
      ['ann', 'bob', 'cid'],
    );
  });
});
