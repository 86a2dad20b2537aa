import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canTransition, isFinalExecutionStatus, priorityRank } from './status.ts';

test('an execution cannot leave a successful end', () => {
  assert.equal(canTransition('SUCCESSFUL', 'ENQUEUED'), false);
  assert.equal(canTransition('FAILED', 'ENQUEUED'), true);
  assert.equal(canTransition('ENQUEUED', 'SUCCESSFUL'), false);
});

test('final statuses and priority ranks', () => {
  assert.equal(isFinalExecutionStatus('TERMINATED'), true);
  assert.equal(isFinalExecutionStatus('INPROGRESS'), false);
  assert.ok(priorityRank('HIGH') > priorityRank('NORMAL'));
  assert.ok(priorityRank('NORMAL') > priorityRank('LOW'));
});
