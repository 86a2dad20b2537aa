import { Cron } from 'croner';
import type { PipelineEvent } from './pipeline.ts';

const MINUTE = 60_000;

/**
 * The first slot of a SCHEDULE event strictly after `afterMs` (epoch ms), or null when there is none
 * (a cron that never matches again). Interval mode: `start_date` + k × `delay` minutes, counted from
 * `anchorMs` (when the schedule was saved) when there is no start_date. Cron mode: the next match of
 * the 5-field expression in `timezone` (UTC when empty).
 */
export function nextSlot(event: PipelineEvent, afterMs: number, anchorMs: number): number | null {
  if (event.cron) {
    const cron = new Cron(event.cron, {
      paused: true,
      ...(event.timezone ? { timezone: event.timezone } : {}),
    });
    return cron.nextRun(new Date(afterMs))?.getTime() ?? null;
  }
  const period = (event.delay ?? 0) * MINUTE;
  if (period <= 0) return null;
  const start = event.start_date ? Date.parse(event.start_date) : anchorMs + period;
  if (start > afterMs) return start;
  return start + (Math.floor((afterMs - start) / period) + 1) * period;
}
