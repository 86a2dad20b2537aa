import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../src/store/database.ts';
import { ScheduleClock } from '../../src/triggers/schedule-clock.ts';
import pino from 'pino';
import { eventually } from '../support/git-client.ts';
import {
  addAction,
  makeRepo,
  setupPipeline,
  startGantry,
  waitForExecution,
  type Harness,
} from '../support/harness.ts';

let h: Harness;
const repo = makeRepo([{ message: 'first', files: { 'a.txt': '1\n' } }]);

/** RFC 3339 without fractional seconds, as Buddy's SDK sends start_date. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function executions(pipelinePath: string): Promise<any[]> {
  return (await h.request('GET', `${pipelinePath}/executions?per_page=100`)).body.executions;
}

async function slotOf(pipelineId: number): Promise<string> {
  const row = await h.gantry.db
    .selectFrom('pipeline_schedules')
    .select('next_run_at')
    .where('pipeline_id', '=', pipelineId)
    .executeTakeFirstOrThrow();
  return row.next_run_at;
}

async function makeDue(pipelineId: number, agoMs: number): Promise<void> {
  await h.gantry.db
    .updateTable('pipeline_schedules')
    .set({ next_run_at: new Date(Date.now() - agoMs).toISOString() })
    .where('pipeline_id', '=', pipelineId)
    .execute();
}

before(async () => {
  h = await startGantry();
});
after(async () => {
  await h.close();
  rmSync(repo.dir, { recursive: true, force: true });
});

test('a schedule starts its run when the clock reaches start_date; a paused one does not', async () => {
  const live = await setupPipeline(h, repo.dir, { name: 'nightly' });
  const paused = await setupPipeline(h, repo.dir, { name: 'paused', paused: true });
  for (const p of [live, paused]) await addAction(h, p.pipelinePath, { name: 'ok' });
  // The first slot must still lie ahead when the schedule is saved; on a slow machine, aim later.
  let start = '';
  for (const lead of [3000, 10_000, 30_000]) {
    start = rfc3339(Date.now() + lead);
    const event = {
      type: 'SCHEDULE',
      refs: null,
      events: null,
      branches: null,
      start_date: start,
      delay: 60,
      totp: false,
    };
    for (const p of [paused, live]) {
      const res = await h.request('PATCH', p.pipelinePath, { events: [event] });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    if (Date.now() < Date.parse(start) - 200) break;
  }
  const saved = (await h.request('GET', live.pipelinePath)).body;
  assert.equal(saved.events[0].start_date, start, 'start_date is echoed verbatim');
  assert.equal(saved.events[0].refs, null);
  assert.equal(saved.events[0].timezone, '');
  assert.equal(saved.pause_on_repeated_failures, 100, 'a pipeline that becomes scheduled gets the default');

  const run = await eventually(async () => (await executions(live.pipelinePath))[0], 60_000);
  assert.equal(run.triggered_on, 'SCHEDULE');
  const next = new Date(Date.parse(start) + 60 * 60_000).toISOString();
  assert.equal(await slotOf(live.pipelineId), next);
  // The paused pipeline's slot went by as well, without a run.
  await eventually(async () => (await slotOf(paused.pipelineId)) === next);
  assert.equal((await executions(paused.pipelinePath)).length, 0);
  await waitForExecution(h, `${live.pipelinePath}/executions/${run.id}`);
});

test('after downtime a schedule that missed many slots runs once, and its next slot is in the future', async () => {
  const p = await setupPipeline(h, repo.dir, { name: 'missed', events: [{ type: 'SCHEDULE', delay: 1 }] });
  await addAction(h, p.pipelinePath, { name: 'ok' });
  await h.gantry.close();
  // While the server is down, ten hours of one-minute slots go by.
  const db = await openDatabase('', h.dataDir);
  await db
    .updateTable('pipeline_schedules')
    .set({ next_run_at: new Date(Date.now() - 10 * 3600_000).toISOString() })
    .where('pipeline_id', '=', p.pipelineId)
    .execute();
  await db.destroy();
  await h.restart();
  const run = await eventually(async () => (await executions(p.pipelinePath))[0]);
  assert.equal(run.triggered_on, 'SCHEDULE');
  assert.ok(Date.parse(await slotOf(p.pipelineId)) > Date.now(), 'the next slot is after now');
  assert.equal((await executions(p.pipelinePath)).length, 1, 'one run, not one per missed slot');
  await waitForExecution(h, `${p.pipelinePath}/executions/${run.id}`);
});

test('two servers on one database never start the same slot twice', async () => {
  const p = await setupPipeline(h, repo.dir, {
    name: 'contended',
    events: [{ type: 'SCHEDULE', cron: '0 3 * * *' }],
    // Every slot's run is counted below, so none may be skipped for a newer one.
    no_skip_to_most_recent: true,
  });
  await addAction(h, p.pipelinePath, { name: 'ok' });
  // A second process's clock: its own connection to the same database file.
  const db2 = await openDatabase(`sqlite:${path.join(h.dataDir, 'gantry.db')}`, h.dataDir);
  const other = new ScheduleClock(db2, h.gantry.triggers, pino({ level: 'silent' }));
  try {
    for (let round = 0; round < 5; round++) {
      await makeDue(p.pipelineId, 1000);
      const ours = h.gantry.triggers.schedules;
      const [a, b] = await Promise.all([ours.tick(), other.tick()]);
      assert.ok(a + b <= 1, `round ${round}: ${a} + ${b} runs for one slot`);
      await eventually(async () => Date.parse(await slotOf(p.pipelineId)) > Date.now());
    }
  } finally {
    await db2.destroy();
  }
  const runs = await executions(p.pipelinePath);
  assert.equal(runs.length, 5, 'each of the five slots ran exactly once');
  for (const r of runs) await waitForExecution(h, `${p.pipelinePath}/executions/${r.id}`);
});

test('pause_on_repeated_failures pauses the schedule after N failed runs in a row', async () => {
  const p = await setupPipeline(h, repo.dir, {
    name: 'flaky',
    events: [{ type: 'SCHEDULE', cron: '0 4 * * *' }],
    pause_on_repeated_failures: 2,
  });
  await addAction(h, p.pipelinePath, { name: 'fails', inline_commands: 'exit 1' });
  for (let i = 0; i < 2; i++) {
    await makeDue(p.pipelineId, 1000);
    await h.gantry.triggers.schedules.tick();
    const [latest] = await executions(p.pipelinePath);
    assert.equal((await waitForExecution(h, `${p.pipelinePath}/executions/${latest.id}`)).status, 'FAILED');
  }
  await makeDue(p.pipelineId, 1000);
  await h.gantry.triggers.schedules.tick();
  const pipeline = (await h.request('GET', p.pipelinePath)).body;
  assert.equal(pipeline.paused, true);
  assert.match(pipeline.last_skipped_trigger.reason, /2 failed runs in a row/);
  assert.equal((await executions(p.pipelinePath)).length, 2);
});
