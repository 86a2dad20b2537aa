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

test('an approval gate: a running execution waits, APPLY queues it again, CANCEL ends it', () => {
  assert.equal(canTransition('INPROGRESS', 'WAITING_FOR_APPLY'), true);
  assert.equal(canTransition('WAITING_FOR_APPLY', 'ENQUEUED'), true);
  assert.equal(canTransition('WAITING_FOR_APPLY', 'TERMINATED'), true);
  assert.equal(canTransition('WAITING_FOR_APPLY', 'SUCCESSFUL'), false);
  assert.equal(canTransition('ENQUEUED', 'WAITING_FOR_APPLY'), false);
  assert.equal(isFinalExecutionStatus('WAITING_FOR_APPLY'), false);
  assert.equal(canTransitionAction('ENQUEUED', 'WAITING_FOR_APPLY'), true);
  assert.equal(canTransitionAction('WAITING_FOR_APPLY', 'SUCCESSFUL'), true);
  assert.equal(canTransitionAction('WAITING_FOR_APPLY', 'TERMINATED'), true);
  assert.equal(canTransitionAction('WAITING_FOR_APPLY', 'INPROGRESS'), false);
});
