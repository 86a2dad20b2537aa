import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { PeriodicTask } from './periodic-task.ts';

/** A round that waits until the test lets it finish, counting how often it started. */
function gatedRounds() {
  const releases: (() => void)[] = [];
  let started = 0;
  const round = () =>
    new Promise<number | null>((resolve) => {
      started += 1;
      releases.push(() => resolve(60_000));
    });
  const waitForStart = async (n: number) => {
    while (started < n) await new Promise((r) => setImmediate(r));
  };
  return { round, releases, waitForStart, started: () => started };
}

test('a poke during a round runs one more round right after it; pokes do not overlap rounds', async () => {
  const g = gatedRounds();
  const task = new PeriodicTask({
    round: g.round,
    failure: 'round failed',
    logger: pino({ level: 'silent' }),
    maxSleepMs: 60_000,
    minSleepMs: 10,
  });
  task.start();
  await g.waitForStart(1);
  task.poke();
  task.poke();
  assert.equal(g.started(), 1, 'no second round while the first runs');
  g.releases[0]?.();
  await g.waitForStart(2);
  g.releases[1]?.();
  await new Promise((r) => setImmediate(r));
  assert.equal(g.started(), 2, 'two pokes during one round give one more round, not two');
  task.stop();
  task.poke();
  assert.equal(g.started(), 2, 'a stopped task runs nothing');
});

test('a failing round is logged and the task goes on', async () => {
  const errors: string[] = [];
  let rounds = 0;
  const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
  const task = new PeriodicTask({
    round: () => {
      rounds += 1;
      return Promise.reject(new Error('database gone'));
    },
    failure: 'round failed',
    logger,
    maxSleepMs: 60_000,
    minSleepMs: 10,
  });
  task.start();
  while (errors.length < 1) await new Promise((r) => setImmediate(r));
  task.poke();
  while (errors.length < 2) await new Promise((r) => setImmediate(r));
  task.stop();
  assert.equal(rounds, 2);
  assert.match(errors[0] ?? '', /round failed/);
  assert.match(errors[0] ?? '', /database gone/);
});
