import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { IllegalTransitionError } from '../../src/domain/status.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { transition } from '../../src/store/transition.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { seedExecution } from '../support/store.ts';

let db: Db;
let dir: string;
let database: TestDatabase;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gantry-store-'));
  database = await createTestDatabase();
  db = await openDatabase(database.url, dir);
});
after(async () => {
  await db.destroy();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function snapshot(executionId: number, pipelineId: number) {
  return {
    execution: await db.selectFrom('executions').selectAll().where('id', '=', executionId).executeTakeFirst(),
    actions: await db
      .selectFrom('action_executions')
      .select(['id', 'status'])
      .where('execution_id', '=', executionId)
      .orderBy('position')
      .execute(),
    events: await db
      .selectFrom('execution_events')
      .selectAll()
      .where('execution_id', '=', executionId)
      .execute(),
    pipeline: await db.selectFrom('pipelines').selectAll().where('id', '=', pipelineId).executeTakeFirst(),
  };
}

test('a finish moves the execution, its pending actions, the pipeline and the actions together', async () => {
  const { execution, pipelineId, actionExecutionIds, actionIds } = await seedExecution(db, 3);
  await transition(db, execution.id, {
    execution: { from: ['ENQUEUED'], to: 'INPROGRESS', fields: { start_date: '2026-01-01T00:00:00.000Z' } },
  });
  assert.equal((await snapshot(execution.id, pipelineId)).pipeline?.last_execution_status, 'INPROGRESS');
  await transition(db, execution.id, { actions: [{ ids: [actionExecutionIds[0]!], to: 'INPROGRESS' }] });
  await transition(db, execution.id, { actions: [{ ids: [actionExecutionIds[0]!], to: 'FAILED' }] });
  const row = await transition(db, execution.id, {
    execution: { from: ['INPROGRESS'], to: 'FAILED', fields: { error_message: 'action "a0" failed' } },
    actions: [{ from: ['ENQUEUED'], to: 'NOT_EXECUTED' }],
  });
  assert.equal(row?.status, 'FAILED');
  const s = await snapshot(execution.id, pipelineId);
  assert.deepEqual(
    s.actions.map((a) => a.status),
    ['FAILED', 'NOT_EXECUTED', 'NOT_EXECUTED'],
  );
  assert.equal(s.pipeline?.last_execution_status, 'FAILED');
  assert.equal(s.pipeline?.last_execution_revision, 'abc');
  const first = await db.selectFrom('actions').selectAll().where('id', '=', actionIds[0]!).executeTakeFirst();
  assert.equal(first?.last_execution_status, 'FAILED');
  // Every move left one event: INPROGRESS, action INPROGRESS, action FAILED, FAILED, two NOT_EXECUTED.
  assert.deepEqual(
    s.events.map((e) => JSON.parse(e.payload).status),
    ['INPROGRESS', 'INPROGRESS', 'FAILED', 'FAILED', 'NOT_EXECUTED', 'NOT_EXECUTED'],
  );
});

test('a move the table does not allow throws and writes nothing', async () => {
  const { execution, pipelineId } = await seedExecution(db, 2);
  const before = await snapshot(execution.id, pipelineId);
  await assert.rejects(
    transition(db, execution.id, { execution: { from: ['ENQUEUED'], to: 'SUCCESSFUL' } }),
    IllegalTransitionError,
  );
  await assert.rejects(
    transition(db, execution.id, { actions: [{ from: ['ENQUEUED'], to: 'SUCCESSFUL' }] }),
    IllegalTransitionError,
  );
  assert.deepEqual(await snapshot(execution.id, pipelineId), before);
});

test('a transition that lost the race writes nothing, actions included', async () => {
  const { execution, pipelineId } = await seedExecution(db, 2);
  const before = await snapshot(execution.id, pipelineId);
  const row = await transition(db, execution.id, {
    execution: { from: ['FAILED', 'TERMINATED'], to: 'ENQUEUED' },
    actions: [{ to: 'ENQUEUED', from: ['FAILED'] }],
  });
  assert.equal(row, undefined);
  assert.deepEqual(await snapshot(execution.id, pipelineId), before);
});

test('a failing hook rolls the whole transition back', async () => {
  const { execution, pipelineId } = await seedExecution(db, 2);
  const before = await snapshot(execution.id, pipelineId);
  await assert.rejects(
    transition(
      db,
      execution.id,
      {
        execution: { from: ['ENQUEUED'], to: 'TERMINATED' },
        actions: [{ from: ['ENQUEUED'], to: 'NOT_EXECUTED' }],
      },
      [
        async (trx, event) => {
          assert.equal(event.executionMove?.to, 'TERMINATED');
          assert.equal(event.actions.length, 2);
          await trx.insertInto('meta').values({ key: 'outbox-probe', value: '1' }).execute();
          throw new Error('outbox full');
        },
      ],
    ),
    /outbox full/,
  );
  assert.deepEqual(await snapshot(execution.id, pipelineId), before);
  assert.equal(
    await db.selectFrom('meta').selectAll().where('key', '=', 'outbox-probe').executeTakeFirst(),
    undefined,
  );
});

test('a cancel in the queue does not show on the pipeline (the run never started)', async () => {
  const { execution, pipelineId } = await seedExecution(db, 1);
  await transition(db, execution.id, {
    execution: { from: ['ENQUEUED'], to: 'TERMINATED' },
    actions: [{ from: ['ENQUEUED'], to: 'NOT_EXECUTED' }],
  });
  assert.equal((await snapshot(execution.id, pipelineId)).pipeline?.last_execution_status, 'INITIAL');
});
