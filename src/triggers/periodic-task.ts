import type { Logger } from 'pino';

/** What a periodic task does on each round, and how long it may sleep between rounds. */
export interface PeriodicTaskOptions {
  /** One round; resolves to the milliseconds until the next is due (null = the longest sleep). */
  round: () => Promise<number | null>;
  /** Logged when a round throws. */
  failure: string;
  logger: Logger;
  /** The task wakes at least this often, so work written by another server is never missed for long. */
  maxSleepMs: number;
  /** The shortest sleep between rounds. */
  minSleepMs: number;
}

/**
 * Runs `round` again and again on a timer, one round at a time: a poke during a round runs another
 * right after it; otherwise the task sleeps for what the round returned, clamped to
 * [minSleepMs, maxSleepMs]. The timer never holds the process open.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = true;

  constructor(private readonly options: PeriodicTaskOptions) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.poke();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs a round now (or right after the one under way). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    const { round, failure, logger } = this.options;
    void round()
      .catch((err: unknown) => {
        logger.error({ err }, failure);
        return null;
      })
      .then((nextMs) => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.poke();
        } else this.sleep(nextMs);
      });
  }

  private sleep(ms: number | null): void {
    if (this.stopped) return;
    const { maxSleepMs, minSleepMs } = this.options;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.poke(), Math.min(Math.max(ms ?? maxSleepMs, minSleepMs), maxSleepMs));
    this.timer.unref();
  }
}
