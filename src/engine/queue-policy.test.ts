import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refKeyOf, supersededRuns, type ActiveRun, type QueueSettings } from './queue-policy.ts';

const DEFAULT: QueueSettings = {
  concurrent_pipeline_runs: false,
  no_skip_to_most_recent: false,
  terminate_stale_runs: false,
};
const run = (id: number, refKey = 'master', waiting = true, pipelineId = 1): ActiveRun => ({
  id,
  pipelineId,
  refKey,
  waiting,
});
const plan = (active: ActiveRun[], s: Partial<QueueSettings>) =>
  supersededRuns(active, new Map([[1, { ...DEFAULT, ...s }]])).map((x) => `${x.action} ${x.id}<${x.newerId}`);

test('by default only the newest waiting run of a one-at-a-time pipeline is kept; the running one goes on', () => {
  assert.deepEqual(plan([run(1, 'master', false), run(2), run(3, 'dev'), run(4)], {}), [
    'SKIP 2<4',
    'SKIP 3<4',
  ]);
  assert.deepEqual(plan([run(1, 'master', false), run(2)], {}), []);
});

test('no_skip_to_most_recent or concurrent runs keep every waiting run', () => {
  assert.deepEqual(plan([run(2), run(3)], { no_skip_to_most_recent: true }), []);
  assert.deepEqual(plan([run(2), run(3)], { concurrent_pipeline_runs: true }), []);
});

test('terminate_stale_runs: the newest run of a branch terminates older ones of that branch, running or waiting', () => {
  const active = [run(1, 'master', false), run(2, 'dev', false), run(3, 'master'), run(4, 'tag:v1')];
  assert.deepEqual(plan(active, { terminate_stale_runs: true, no_skip_to_most_recent: true }), [
    'TERMINATE 1<3',
  ]);
  // With skipping too: the terminated run is not also skipped; other branches' waiting runs are.
  assert.deepEqual(
    plan([run(1, 'master'), run(2, 'dev'), run(3, 'master')], { terminate_stale_runs: true }),
    ['TERMINATE 1<3', 'SKIP 2<3'],
  );
});

test('pipelines are independent, and one without settings is left alone', () => {
  const active = [run(1), run(2), run(3, 'master', true, 2), run(4, 'master', true, 2)];
  const out = supersededRuns(active, new Map([[1, DEFAULT]]));
  assert.deepEqual(out, [{ id: 1, newerId: 2, action: 'SKIP' }]);
  assert.equal(refKeyOf('dev', null), 'dev');
  assert.equal(refKeyOf(null, 'v1'), 'tag:v1');
  assert.equal(refKeyOf(null, null), '');
});
