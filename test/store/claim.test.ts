/**
 * Claiming queued executions when several servers share the queue: the claim (ENQUEUED → INPROGRESS)
 * is one transition that, on PostgreSQL, locks the row with FOR UPDATE SKIP LOCKED and the pipeline row
 * of a pipeline without concurrent runs. Two connection pools (as two server processes have) race for
 * the same executions here; on SQLite, one process and one connection, the race is between concurrent
 * calls on it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { transition } from '../../src/store/transition.ts';
import { now } from '../../src/store/time.ts';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.ts';
import { seedExecution } from '../support/store.ts';

let one: Db;
let two: Db;
let dir: string;
let database: TestDatabase;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gantry-claim-'));
  database = await createTestDatabase();
  one = await openDatabase(database.url, dir);
  two = testDatabaseKind() === 'postgres' ? await openDatabase(database.url, dir) : one;
});
after(async () => {
  if (two !== one) await two.destroy();
  await one.destroy();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

const claim = (db: Db, id: number) =>
  transition(db, id, {
    execution: { from: ['ENQUEUED'], to: 'INPROGRESS', fields: { start_date: now() } },
  });

async function startedEvents(executionId: number): Promise<number> {
  const rows = await one
    .selectFrom('execution_events')
    .select('payload')
    .where('execution_id', '=', executionId)
    .where('type', '=', 'execution')
    .execute();
  return rows.filter((r) => JSON.parse(r.payload).status === 'INPROGRESS').length;
}

test('every queued execution is claimed exactly once when two pools race for it', async () => {
  const ids: number[] = [];
  for (let i = 0; i < 12; i += 1) ids.push((await seedExecution(one, 1)).execution.id);
  // Each execution is claimed by four callers at once, two on each pool.
  const results = await Promise.all(
    ids.map((id) => Promise.all([claim(one, id), claim(two, id), claim(two, id), claim(one, id)])),
  );
  for (const [i, r] of results.entries()) {
    assert.equal(r.filter((x) => x !== undefined).length, 1, `execution ${ids[i]} claimed once`);
    assert.equal(await startedEvents(ids[i]!), 1);
  }
});

test('two queued runs of a pipeline without concurrent runs never start together', async () => {
  const seeded = await seedExecution(one, 1);
  const { id: _id, ...copy } = seeded.execution;
  const second = await one.insertInto('executions').values(copy).returning('id').executeTakeFirstOrThrow();
  const [a, b] = await Promise.all([claim(one, seeded.execution.id), claim(two, second.id)]);
  assert.equal([a, b].filter((x) => x !== undefined).length, 1, 'one of them started');
  const statuses = await one
    .selectFrom('executions')
    .select('status')
    .where('pipeline_id', '=', seeded.pipelineId)
    .orderBy('id')
    .execute();
  assert.deepEqual(statuses.map((s) => s.status).sort(), ['ENQUEUED', 'INPROGRESS']);
  // With concurrent runs allowed, the one left waiting starts too.
  await one
    .updateTable('pipelines')
    .set({ concurrent_pipeline_runs: 1 })
    .where('id', '=', seeded.pipelineId)
    .execute();
  const waiting = a === undefined ? seeded.execution.id : second.id;
  assert.notEqual(await claim(two, waiting), undefined);
});
