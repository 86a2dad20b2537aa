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
    const { status, text } = await this.send(method, route, options, async (res) => ({
      status: res.status,
      text: await res.text(),
    }));
    return status === 204 || text === '' ? null : (JSON.parse(text) as T);
  }

  /**
   * A GET whose body is streamed (a package archive), retried like call() until a server answers;
   * `timeoutMs` covers the whole transfer. The caller reads `body` to the end or cancels it.
   */
  async download(
    route: string,
    options: CallOptions = {},
  ): Promise<{ server: string; headers: Headers; body: AsyncIterable<Buffer>; cancel: () => Promise<void> }> {
    let server = '';
    const res = await this.send('GET', route, options, (r, base) => {
      server = base;
      return Promise.resolve(r);
    });
    const stream = res.body!;
    async function* body(): AsyncGenerator<Buffer> {
      for await (const chunk of stream as AsyncIterable<Uint8Array>) yield Buffer.from(chunk);
    }
    return { server, headers: res.headers, body: body(), cancel: () => stream.cancel() };
  }

  /**
   * Sends a request until a server answers it (a network error or a 5xx moves on to the next one),
   * hands a successful answer to `take`; 409 throws LeaseLost, another 4xx Refused.
   */
  private async send<R>(
    method: string,
    route: string,
    options: CallOptions,
    take: (res: Response, server: string) => Promise<R>,
  ): Promise<R> {
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
      let res: Response;
      let taken: R | undefined;
      try {
        res = await fetch(url, { method, headers, body, signal });
        if (res.status < 400) taken = await take(res, base);
      } catch (err) {
        options.signal?.throwIfAborted();
        this.logger.warn({ server: base, err: (err as Error).message }, 'server unreachable; trying again');
        this.failover(base);
        await sleep(backoff, options.signal);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (res.status >= 500) {
        await res.body?.cancel();
        this.logger.warn({ server: base, status: res.status }, 'server failed; trying again');
        this.failover(base);
        await sleep(backoff, options.signal);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (res.status < 400) return taken as R;
      const text = await res.text().catch(() => '');
      const message = (): string => {
        try {
          return (JSON.parse(text) as { errors: { message: string }[] }).errors[0]!.message;
        } catch {
          return text.slice(0, 500);
        }
      };
      if (res.status === 409) throw new LeaseLost(message());
      throw new Refused(`${method} ${route}: ${res.status} ${message()}`);
    }
  }
}
