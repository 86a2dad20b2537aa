import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeEvent } from '../domain/pipeline-events.ts';
import { diffRefs, eventRuns, runRequestFor } from './ref-updates.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

test('diffRefs finds created, moved and deleted refs', () => {
  const before = new Map([
    ['refs/heads/master', A],
    ['refs/heads/old', A],
  ]);
  const after = new Map([
    ['refs/heads/master', B],
    ['refs/tags/v1', B],
  ]);
  assert.deepEqual(diffRefs(before, after), [
    { ref: 'refs/heads/master', before: A, after: B },
    { ref: 'refs/heads/old', before: A, after: null },
    { ref: 'refs/tags/v1', before: null, after: B },
  ]);
});

test('eventRuns: once per pipeline and ref, by event type and ref pattern', () => {
  const pipelines = [
    {
      id: 1,
      settings: { refs: [], events: [normalizeEvent({ type: 'PUSH', refs: ['refs/heads/master'] })] },
    },
    {
      id: 2,
      settings: {
        refs: [],
        events: [
          normalizeEvent({ type: 'PUSH', refs: ['refs/heads/*'] }),
          normalizeEvent({ type: 'CREATE_REF' }),
        ],
      },
    },
    {
      id: 3,
      settings: { refs: [], events: [normalizeEvent({ type: 'CREATE_REF', refs: ['refs/tags/v*'] })] },
    },
    { id: 4, settings: { refs: [], events: [normalizeEvent({ type: 'DELETE_REF' })] } },
    { id: 5, settings: { refs: ['master'], events: [normalizeEvent({ type: 'PUSH' })] } },
    { id: 6, settings: { refs: [], events: [normalizeEvent({ type: 'SCHEDULE', delay: 5 })] } },
  ];
  const updates = [
    { ref: 'refs/heads/master', before: A, after: B },
    { ref: 'refs/heads/feature/x', before: null, after: B },
    { ref: 'refs/tags/v1', before: null, after: B },
    { ref: 'refs/heads/gone', before: A, after: null },
  ];
  const runs = eventRuns(pipelines, updates, 'master').map(
    (r) => `${r.pipelineId}:${r.event}:${r.update.ref}`,
  );
  assert.deepEqual(runs, [
    '1:PUSH:refs/heads/master',
    '2:PUSH:refs/heads/master',
    '5:PUSH:refs/heads/master',
    '2:PUSH:refs/heads/feature/x',
    '2:CREATE_REF:refs/tags/v1',
    '3:CREATE_REF:refs/tags/v1',
    '4:DELETE_REF:refs/heads/gone',
  ]);
});

test('runRequestFor: new revision with the old as changeset base; a deleted ref runs at its last revision', () => {
  assert.deepEqual(runRequestFor({ ref: 'refs/heads/master', before: A, after: B }).body, {
    to_revision: { revision: B },
    branch: { name: 'master' },
    from_revision: { revision: A },
  });
  assert.deepEqual(runRequestFor({ ref: 'refs/tags/v1', before: null, after: B }).body, {
    to_revision: { revision: B },
    tag: { name: 'v1' },
  });
  const deleted = runRequestFor({ ref: 'refs/heads/gone', before: A, after: null });
  assert.deepEqual(deleted.body, { to_revision: { revision: A } });
  assert.deepEqual(deleted.origin.reportRef, { branch: 'gone', tag: null });
});
