/**
 * Counts failed sign-ins per key (an e-mail address, a client address) in a sliding window. After
 * `maxFailures` failures within `windowMs` the key is locked until the oldest failure leaves the window.
 * Kept in memory: a restart forgets it, which only gives an attacker one more small batch of guesses.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfter(key: string, now = Date.now()): number {
    const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (recent.length < this.maxFailures) return 0;
    return recent[recent.length - this.maxFailures]! + this.windowMs - now;
  }

  fail(key: string, now = Date.now()): void {
    const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    recent.push(now);
    this.failures.delete(key);
    this.failures.set(key, recent);
    // Oldest keys go first when too many are tracked, so a flood of made-up addresses cannot grow memory.
    while (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}
