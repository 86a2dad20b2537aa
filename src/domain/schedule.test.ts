import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeEvent } from './pipeline-events.ts';
import { nextSlot } from './schedule.ts';

const t = (iso: string) => Date.parse(iso);

test('interval schedules: start_date, then every delay minutes; missed slots collapse to the next one', () => {
  const e = normalizeEvent({ type: 'SCHEDULE', start_date: '2026-01-01T10:00:00Z', delay: 5 });
  assert.equal(nextSlot(e, t('2025-12-31T00:00:00Z'), 0), t('2026-01-01T10:00:00Z'));
  assert.equal(nextSlot(e, t('2026-01-01T10:00:00Z'), 0), t('2026-01-01T10:05:00Z'));
  assert.equal(nextSlot(e, t('2026-01-01T13:02:00Z'), 0), t('2026-01-01T13:05:00Z'));
  const anchored = normalizeEvent({ type: 'SCHEDULE', delay: 10 });
  assert.equal(
    nextSlot(anchored, t('2026-01-01T00:00:00Z'), t('2026-01-01T00:00:00Z')),
    t('2026-01-01T00:10:00Z'),
  );
});

test('cron schedules honour the time zone', () => {
  const e = normalizeEvent({ type: 'SCHEDULE', cron: '0 22 * * 1-5', timezone: 'Europe/Warsaw' });
  // Friday 2026-01-02 20:00 UTC is 21:00 in Warsaw: the next slot is 22:00 Warsaw = 21:00 UTC.
  assert.equal(nextSlot(e, t('2026-01-02T20:00:00Z'), 0), t('2026-01-02T21:00:00Z'));
  // After it, the weekend is skipped: Monday 22:00 Warsaw.
  assert.equal(nextSlot(e, t('2026-01-02T21:00:00Z'), 0), t('2026-01-05T21:00:00Z'));
  const utc = normalizeEvent({ type: 'SCHEDULE', cron: '15 14 1 * *' });
  assert.equal(nextSlot(utc, t('2026-01-01T00:00:00Z'), 0), t('2026-01-01T14:15:00Z'));
});
