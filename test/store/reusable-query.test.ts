import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { reusableQuery } from '../../src/store/reusable-query.ts';

let db: Db;
let dir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gantry-reusable-'));
  db = await openDatabase('', dir);
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
