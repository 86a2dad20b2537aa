import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebhookDeliveryOutcome } from '../metrics/metrics.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import { now } from '../store/time.ts';
import { claimDueDeliveries, earliestDelivery, recordAttempt, type DeliveryRow } from '../store/webhooks.ts';

export interface DispatcherOptions {
  /** First retry after this many ms, doubling up to `maxBackoffMs`. */
  retryBaseMs: number;
  maxBackoffMs: number;
  /** Attempts before a delivery is given up (FAILED). */
  maxAttempts: number;
  /** A target that has not answered after this long counts as failed. */
  timeoutMs: number;
  /** Deliveries in flight at once. */
  concurrency: number;
}

export const DISPATCHER_DEFAULTS: DispatcherOptions = {
  retryBaseMs: 1000,
  maxBackoffMs: 3_600_000,
  maxAttempts: 10,
  timeoutMs: 10_000,
  concurrency: 8,
};

/** `sha256=<hex HMAC of the body keyed with the webhook's secret_key>`, like GitHub's X-Hub-Signature-256. */
export function signBody(secretKey: string, body: string): string {
  return `sha256=${createHmac('sha256', secretKey).update(body).digest('hex')}`;
}

/**
 * Sends outbox rows to their webhooks' targets, apart from the engine: it only reads the outbox, so a
 * slow or dead target never delays an execution. Each attempt is claimed (a lease) before it is sent;
 * a 2xx marks the delivery DELIVERED, anything else (error, timeout, other status) schedules a retry
 * with exponential backoff until `maxAttempts`.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private inFlight = new Set<Promise<void>>();
  private pumping = false;
  private pumpAgain = false;
  private readonly options: DispatcherOptions;

  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly logger: Logger,
    options: Partial<DispatcherOptions> = {},
    /** Told the outcome of every attempt (the metrics' delivery counter). */
    private readonly onAttempt: (outcome: WebhookDeliveryOutcome) => void = () => {},
  ) {
    this.options = { ...DISPATCHER_DEFAULTS, ...options };
  }

  start(): void {
    this.stopped = false;
    this.poke();
  }

  /** Stops taking deliveries and waits for those in flight, so none is cut off mid-send. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([...this.inFlight]);
  }

  /** Looks at the outbox soon (after a status change wrote to it). */
  poke(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump()
      .catch((err: unknown) => this.logger.error({ err }, 'webhook dispatch failed'))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.poke();
        } else void this.sleep();
      });
  }

  private async sleep(): Promise<void> {
    if (this.stopped) return;
    const at = await earliestDelivery(this.db).catch(() => null);
    if (this.stopped) return;
    const wait = at === null ? 5000 : Math.min(Math.max(Date.parse(at) - Date.now(), 20), 5000);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.poke(), wait);
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    const free = this.options.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const lease = this.options.timeoutMs + 30_000;
    for (const d of await claimDueDeliveries(this.db, free, lease)) {
      const job = this.deliver(d).finally(() => {
        this.inFlight.delete(job);
        this.poke();
      });
      this.inFlight.add(job);
    }
  }

  private async deliver(d: DeliveryRow): Promise<void> {
    const webhook = await this.db
      .selectFrom('workspace_webhooks')
      .selectAll()
      .where('id', '=', d.webhook_id)
      .executeTakeFirst();
    if (!webhook) return; // deleted: its deliveries went with it
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Gantry-Webhook',
      'x-gantry-event': d.event,
      'x-gantry-delivery': String(d.id),
    };
    if (webhook.secret_key)
      headers['x-gantry-signature-256'] = signBody(this.secrets.open(webhook.secret_key), d.payload);
    const attempts = d.attempts + 1;
    const postDate = now();
    let status = '';
    let body = '';
    try {
      const res = await fetch(webhook.target_url, {
        method: 'POST',
        headers,
        body: d.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = String(res.status);
      body = (await res.text().catch(() => '')).slice(0, 2000);
    } catch (err) {
      body =
        (err as Error).name === 'TimeoutError' ? 'timed out' : `not delivered: ${(err as Error).message}`;
    }
    const ok = /^2\d\d$/.test(status);
    const giveUp = !ok && attempts >= this.options.maxAttempts;
    const backoff = Math.min(this.options.retryBaseMs * 2 ** (attempts - 1), this.options.maxBackoffMs);
    await recordAttempt(this.db, d.id, {
      status: ok ? 'DELIVERED' : giveUp ? 'FAILED' : 'PENDING',
      attempts,
      next_attempt_at: new Date(Date.now() + (ok || giveUp ? 0 : backoff)).toISOString(),
      post_date: postDate,
      response_status: status,
      response_body: body,
    });
    this.onAttempt(ok ? 'delivered' : giveUp ? 'gave_up' : 'failed');
    if (!ok)
      this.logger.info({ webhook: webhook.id, delivery: d.id, attempts, status }, 'webhook delivery failed');
  }
}
