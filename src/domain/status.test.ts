import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actionStatusesLeadingTo,
  canTransition,
  canTransitionAction,
  isFinalExecutionStatus,
  priorityRank,
} from './status.ts';

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

test('action executions: retry re-queues ended ones, nothing runs twice without it', () => {
  assert.equal(canTransitionAction('ENQUEUED', 'INPROGRESS'), true);
  assert.equal(canTransitionAction('INPROGRESS', 'INPROGRESS'), false);
  assert.equal(canTransitionAction('SUCCESSFUL', 'INPROGRESS'), false);
  assert.equal(canTransitionAction('FAILED', 'ENQUEUED'), true);
  assert.deepEqual(actionStatusesLeadingTo('INPROGRESS').sort(), ['ENQUEUED', 'INITIAL']);
});
