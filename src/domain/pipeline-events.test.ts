import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventProblem, normalizeEvent, parseRef, refMatches } from './pipeline-events.ts';

test('ref patterns: full refs, globs over slashes, plain branch names, :default', () => {
  const master = parseRef('refs/heads/master');
  const feature = parseRef('refs/heads/feature/login');
  const tag = parseRef('refs/tags/v1.2');
  const otherTag = parseRef('refs/tags/release-1');
  assert.equal(refMatches(['refs/heads/master'], master, null), true);
  assert.equal(refMatches(['refs/heads/master'], feature, null), false);
  assert.equal(refMatches(['refs/heads/*'], feature, null), true);
  assert.equal(refMatches(['refs/heads/*'], tag, null), false);
  assert.equal(refMatches(['refs/tags/v*'], tag, null), true);
  assert.equal(refMatches(['refs/tags/v*'], otherTag, null), false);
  assert.equal(refMatches(['master'], master, null), true);
  assert.equal(refMatches(['v1.2'], tag, null), false, 'plain names are branches');
  assert.equal(refMatches(['feature/*'], feature, null), true);
  assert.equal(
    refMatches(['feature.*'], parseRef('refs/heads/featureXlogin'), null),
    false,
    'dots are literal',
  );
  assert.equal(refMatches([':default'], master, 'master'), true);
  assert.equal(refMatches([':default'], feature, 'master'), false);
});

test('schedule events need cron or a delay; cron and timezone are checked', () => {
  const ok = normalizeEvent({ type: 'SCHEDULE', cron: '15 14 1 * *', timezone: 'Europe/Warsaw' });
  assert.equal(eventProblem(ok, 0), null);
  assert.equal(
    eventProblem(normalizeEvent({ type: 'SCHEDULE', delay: 5, start_date: '2026-01-01T10:00:00Z' }), 0),
    null,
  );
  assert.match(eventProblem(normalizeEvent({ type: 'SCHEDULE' }), 0)!, /needs cron/);
  assert.match(eventProblem(normalizeEvent({ type: 'SCHEDULE', cron: 'every day' }), 0)!, /invalid cron/);
  assert.match(
    eventProblem(normalizeEvent({ type: 'SCHEDULE', cron: '* * * * *', timezone: 'Mars/Base' }), 0)!,
    /timezone/,
  );
  assert.match(eventProblem(normalizeEvent({ type: 'PUSH', delay: 5 }), 0)!, /belong to SCHEDULE/);
  assert.equal(normalizeEvent({ type: 'SCHEDULE', delay: 5 }).refs, null, 'refs not sent stay null');
});
