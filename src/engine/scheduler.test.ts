import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickExecutions } from './scheduler.ts';

test('respects free slots and queue order', () => {
  const q = [1, 2, 3].map((id) => ({ id, pipelineId: id, concurrentPipelineRuns: true }));
  assert.deepEqual(
    pickExecutions(q, new Set(), 2).map((e) => e.id),
    [1, 2],
  );
  assert.deepEqual(pickExecutions(q, new Set(), 0), []);
});

test('a non-concurrent pipeline runs one execution at a time', () => {
  const q = [
    { id: 1, pipelineId: 7, concurrentPipelineRuns: false },
    { id: 2, pipelineId: 7, concurrentPipelineRuns: false },
    { id: 3, pipelineId: 8, concurrentPipelineRuns: false },
  ];
  assert.deepEqual(
    pickExecutions(q, new Set(), 5).map((e) => e.id),
    [1, 3],
  );
  assert.deepEqual(
    pickExecutions(q, new Set([7]), 5).map((e) => e.id),
    [3],
  );
});

test('a concurrent pipeline may run several at once', () => {
  const q = [
    { id: 1, pipelineId: 7, concurrentPipelineRuns: true },
    { id: 2, pipelineId: 7, concurrentPipelineRuns: true },
  ];
  assert.deepEqual(
    pickExecutions(q, new Set([7]), 5).map((e) => e.id),
    [1, 2],
  );
});
