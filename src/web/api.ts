/**
 * The typed API client: every request goes through `api()`, which sends the token as a Bearer header
 * and turns Buddy-style error bodies into ApiError. Event streams never carry the token: each
 * connection uses a single-use stream ticket from POST /user/stream_tickets.
 */
import { session } from './session.ts';

export const BASE = location.pathname.replace(/[^/]*$/, '');
export const API = `${BASE}api`;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** Which of a form's fields the message is about (Gantry names them: `field "x" ...`, `x: ...`, `"x" ...`). */
  fieldOf(fields: readonly string[]): string | null {
    const m = this.message;
    const quoted = /field "([^"]+)"/.exec(m)?.[1];
    if (quoted) {
      const first = quoted.split('.')[0] ?? quoted;
      if (fields.includes(first)) return first;
    }
    for (const f of fields) if (m.startsWith(`${f}:`) || m.startsWith(`${f} `)) return f;
    // The field named first is the subject: "an SSH_KEY value must be a private key" is about `value`.
    let first: { field: string; at: number } | null = null;
    for (const f of fields) {
      const at = m.search(new RegExp(`\\b${f}\\b`));
      if (at >= 0 && (first === null || at < first.at)) first = { field: f, at };
    }
    return first?.field ?? null;
  }
}

function messageOf(data: unknown, res: Response): string {
  const errors = (data as { errors?: { message?: string }[] } | null)?.errors;
  if (Array.isArray(errors) && errors.length > 0)
    return errors.map((e) => e.message ?? JSON.stringify(e)).join('; ');
  return `HTTP ${res.status} ${res.statusText}`.trim();
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${e instanceof Error ? e.message : 'network error'})`);
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, messageOf(data, res));
    if (res.status === 401 && token) session.signOut(err.message);
    throw err;
  }
  return data as T;
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);

/** "/a/b%20c" from path segments, each URL-encoded. */
export function path(...segs: (string | number)[]): string {
  return '/' + segs.map((s) => encodeURIComponent(String(s))).join('/');
}

export interface StreamHandlers {
  /** Named events (the SSE `event:` field) to their handlers; `data` is the event's text. */
  on: Record<string, (data: string, id: string) => void>;
  /** The stream ended for good (the server sent `end`). */
  onEnd?: () => void;
  /** Connection state for the page to show: live, reconnecting, ended. */
  onState?: (state: 'live' | 'reconnecting' | 'ended') => void;
}

/**
 * Follows a Server-Sent Events stream with a fresh stream ticket per connection; reconnects after a
 * drop, resuming after the last event id. Returns a function that closes it.
 */
export function openStream(apiPath: string, handlers: StreamHandlers): () => void {
  let closed = false;
  let source: EventSource | null = null;
  let lastId = '';
  let retry: ReturnType<typeof setTimeout> | null = null;
  let failures = 0;

  const connect = async (): Promise<void> => {
    if (closed) return;
    let ticket: string;
    try {
      ticket = (await api<{ ticket: string }>('POST', '/user/stream_tickets', { path: API + apiPath }))
        .ticket;
    } catch {
      scheduleRetry();
      return;
    }
    if (closed) return;
    const q = new URLSearchParams({ ticket });
    if (lastId) q.set('last_event_id', lastId);
    const src = new EventSource(`${API}${apiPath}?${q.toString()}`);
    source = src;
    src.onopen = () => {
      failures = 0;
      handlers.onState?.('live');
    };
    for (const [name, fn] of Object.entries(handlers.on)) {
      src.addEventListener(name, (ev) => {
        const me = ev as MessageEvent<string>;
        if (me.lastEventId) lastId = me.lastEventId;
        fn(me.data, me.lastEventId);
      });
    }
    src.addEventListener('end', () => {
      closed = true;
      src.close();
      handlers.onState?.('ended');
      handlers.onEnd?.();
    });
    // A ticket works once: instead of EventSource's own reconnect (same URL), ask for a new ticket.
    src.onerror = () => {
      src.close();
      if (!closed) scheduleRetry();
    };
  };
  const scheduleRetry = (): void => {
    handlers.onState?.('reconnecting');
    failures += 1;
    retry = setTimeout(() => void connect(), Math.min(10_000, 500 * 2 ** Math.min(failures, 5)));
  };
  void connect();
  return () => {
    closed = true;
    if (retry) clearTimeout(retry);
    source?.close();
  };
}
