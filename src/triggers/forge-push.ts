import { createHmac, timingSafeEqual } from 'node:crypto';

/** The forges whose push webhooks a project's inbound endpoint understands. */
export type Forge = 'github' | 'gitlab' | 'gitea';

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Which forge sent a call, from its event header (Gitea also sends GitHub's headers, so it goes first). */
export function detectForge(headers: Headers): Forge | null {
  if (header(headers, 'x-gitea-event') !== undefined) return 'gitea';
  if (header(headers, 'x-gitlab-event') !== undefined) return 'gitlab';
  if (header(headers, 'x-github-event') !== undefined) return 'github';
  return null;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Whether the call carries the project's secret the way its forge proves it: GitHub
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, Gitea `X-Gitea-Signature: <hex
 * HMAC-SHA256>`, GitLab `X-Gitlab-Token: <the secret itself>`. Constant-time comparisons.
 */
export function verifyForgeCall(forge: Forge, headers: Headers, rawBody: Buffer, secret: string): boolean {
  switch (forge) {
    case 'github': {
      const sig = header(headers, 'x-hub-signature-256') ?? '';
      return sameText(sig.toLowerCase(), `sha256=${hmacHex(secret, rawBody)}`);
    }
    case 'gitea': {
      const sig = header(headers, 'x-gitea-signature') ?? '';
      return sameText(sig.toLowerCase(), hmacHex(secret, rawBody));
    }
    case 'gitlab':
      return sameText(header(headers, 'x-gitlab-token') ?? '', secret);
  }
}

/** What a verified call asks for: a look at the repository (a push, a new or deleted ref), a ping, or nothing. */
export interface ForgeCall {
  kind: 'push' | 'ping' | 'ignored';
  /** The forge's event name, as sent. */
  event: string;
  /** E-mail of the forge user who pushed, when the payload names one. */
  pusherEmail: string | null;
}

const PUSH_EVENTS: Record<Forge, readonly string[]> = {
  github: ['push', 'create', 'delete'],
  gitea: ['push', 'create', 'delete'],
  gitlab: ['Push Hook', 'Tag Push Hook'],
};

function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * Reads a verified call. The payload only says that something changed and who pushed: which refs
 * moved is read from the repository itself, so a payload can never make Gantry run a revision the
 * repository does not have.
 */
export function readForgeCall(forge: Forge, headers: Headers, payload: unknown): ForgeCall {
  const event =
    header(
      headers,
      forge === 'gitea' ? 'x-gitea-event' : forge === 'gitlab' ? 'x-gitlab-event' : 'x-github-event',
    ) ?? '';
  const body = (payload ?? {}) as Record<string, unknown>;
  if (forge === 'github' && event === 'ping') return { kind: 'ping', event, pusherEmail: null };
  if (!PUSH_EVENTS[forge].includes(event)) return { kind: 'ignored', event, pusherEmail: null };
  const pusher = (body.pusher ?? body.sender ?? {}) as Record<string, unknown>;
  const pusherEmail = forge === 'gitlab' ? text(body.user_email) : text(pusher.email);
  return { kind: 'push', event, pusherEmail };
}

/** The JSON payload of a call body: JSON, or GitHub's form encoding (`payload=<JSON>`). */
export function parseForgeBody(rawBody: Buffer, contentType: string | undefined): unknown {
  const raw = rawBody.toString('utf8');
  if (raw.trim() === '') return {};
  try {
    if ((contentType ?? '').startsWith('application/x-www-form-urlencoded'))
      return JSON.parse(new URLSearchParams(raw).get('payload') ?? '{}') as unknown;
    return JSON.parse(raw) as unknown;
  } catch {
    return null;
  }
}
