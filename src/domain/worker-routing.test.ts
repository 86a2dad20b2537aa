import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRoute, runnerMatches, type Route, type RunnerTraits } from './worker-routing.ts';

const route = (r: Partial<Route> = {}): Route => ({ worker: '', tags: [], cpu: 'X64', ...r });
const local: RunnerTraits = { name: null, tags: [], cpu: 'X64' };
const w1: RunnerTraits = { name: 'w1', tags: ['linux', 'gpu'], cpu: 'X64' };
const arm: RunnerTraits = { name: 'pi', tags: ['linux'], cpu: 'ARM' };

test('a pipeline without routing runs anywhere of its CPU', () => {
  assert.equal(runnerMatches(route(), local), true);
  assert.equal(runnerMatches(route(), w1), true);
  assert.equal(runnerMatches(route(), arm), false);
  assert.equal(runnerMatches(route({ cpu: 'ARM' }), arm), true);
  assert.equal(runnerMatches(route({ cpu: 'ARM' }), local), false);
});

test('worker and tags route to remote workers only: every tag must be held, the name must match', () => {
  assert.equal(runnerMatches(route({ tags: ['gpu'] }), w1), true);
  assert.equal(runnerMatches(route({ tags: ['gpu', 'linux'] }), w1), true);
  assert.equal(runnerMatches(route({ tags: ['gpu', 'windows'] }), w1), false);
  assert.equal(runnerMatches(route({ tags: ['linux'] }), local), false);
  assert.equal(runnerMatches(route({ worker: 'w1' }), w1), true);
  assert.equal(runnerMatches(route({ worker: 'w2' }), w1), false);
  assert.equal(runnerMatches(route({ worker: 'w1' }), local), false);
  assert.equal(runnerMatches(route({ worker: 'pi', tags: ['linux'], cpu: 'ARM' }), arm), true);
});

test('the wait reason names what the pipeline waits for', () => {
  assert.equal(describeRoute(route()), 'a worker on X64');
  assert.equal(
    describeRoute(route({ worker: 'w1', tags: ['a', 'b'], cpu: 'ARM' })),
    'a worker named "w1" with tags a, b on ARM',
  );
});
