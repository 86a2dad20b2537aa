import type { Logger } from 'pino';
import { SESSION_HEADER } from '../engine/worker-wire.ts';

/** The server says the worker no longer holds what it reports on (409): stop it, do not retry. */
export class LeaseLost extends Error {}

/** A request the server refused for good (a 4xx other than 409): a bug or a misconfiguration. */
export class Refused extends Error {}

export interface CallOptions {
  json?: unknown;
  body?: Buffer;
  query?: Record<string, string>;
  signal?: AbortSignal;
  /** How long one attempt may take (a long-poll waits longer than a report). */
  timeoutMs?: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * HTTP to the servers a worker was given (any of them: they share one database). A server that does
 * not answer, or answers 5xx, is left for the next one, round robin, with a backoff of up to 5 s: a
 * server that dies costs the worker a retry, not its work. Every call carries the WORKER token and,
 * once registered, the session.
 */
export class WorkerClient {
  private index = 0;
  session: string | null = null;

  constructor(
    private readonly servers: readonly string[],
    private readonly token: string,
    private readonly logger: Logger,
  ) {}

  /** The server the next call goes to. */
  get server(): string {
    return this.servers[this.index]!;
  }

  /** The headers every call carries (also used for git over HTTP). */
  headers(): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (this.session) h[SESSION_HEADER] = this.session;
    return h;
  }

  /**
   * After a call to `failed` failed: the next server, unless another call already moved on from it.
   * Calls in flight together (heartbeat, long-poll, log, report) all fail when their server dies; each
   * moving the index on would send half of them back to the dead server.
   */
  failover(failed: string): void {
    if (this.servers[this.index] === failed) this.index = (this.index + 1) % this.servers.length;
  }

  /**
   * One call, retried until a server answers it (or `signal` aborts: then it throws). Returns the JSON
   * body, or null for 204. 409 throws LeaseLost; another 4xx throws Refused.
   */
  async call<T>(method: string, route: string, options: CallOptions = {}): Promise<T | null> {
    let backoff = 250;
    for (;;) {
      options.signal?.throwIfAborted();
      const base = this.server;
      const url = new URL(`${base}/api/workers${route}`);
      for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
      const headers = this.headers();
      let body: string | Buffer | undefined;
      if (options.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.json);
      } else if (options.body !== undefined) {
        headers['content-type'] = 'application/octet-stream';
        body = options.body;
      }
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let status: number;
      let text: string;
      try {
        const res = await fetch(url, { method, headers, body, signal });
        status = res.status;
        text = await res.text();
      } catch (err) {
        options.signal?.throwIfAborted();
        this.logger.warn({ server: base, err: (err as Error).message }, 'server unreachable; trying again');
        this.failover(base);
        await sleep(backoff, options.signal);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (status >= 500) {
        this.logger.warn({ server: base, status }, 'server failed; trying again');
        this.failover(base);
        await sleep(backoff, options.signal);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      const message = (): string => {
        try {
          return (JSON.parse(text) as { errors: { message: string }[] }).errors[0]!.message;
        } catch {
          return text.slice(0, 500);
        }
      };
      if (status === 409) throw new LeaseLost(message());
      if (status >= 400) throw new Refused(`${method} ${route}: ${status} ${message()}`);
      return status === 204 || text === '' ? null : (JSON.parse(text) as T);
    }
  }
}
