import { createHash, randomBytes } from 'node:crypto';

/** How long a stream ticket may wait for its connection. */
export const STREAM_TICKET_TTL_MS = 60_000;
/** Unredeemed tickets a single token may hold at once (a page opens a handful of streams). */
const MAX_PER_TOKEN = 50;

interface Ticket {
  tokenId: string;
  path: string;
  expiresAt: number;
}

/**
 * Short-lived, single-purpose credentials for Server-Sent Event streams. A browser's EventSource
 * cannot send an Authorization header, so instead of putting the long-lived API token in the URL
 * (where proxies, logs and the browser history keep it), the page asks for a ticket with its token
 * and opens the stream with `?ticket=`. A ticket is good for one connection to one URL path, within
 * a minute; only its hash is kept, in memory (a restart voids every ticket, the page asks again).
 */
export class StreamTickets {
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new ticket for one connection to `path` on behalf of the token `tokenId`. */
  issue(tokenId: string, path: string): { ticket: string; expiresAt: number } {
    this.sweep();
    let held = 0;
    for (const t of this.tickets.values()) if (t.tokenId === tokenId) held += 1;
    if (held >= MAX_PER_TOKEN) {
      // Drop this token's oldest ticket rather than refuse: a page that reconnects often must not lock itself out.
      for (const [key, t] of this.tickets)
        if (t.tokenId === tokenId) {
          this.tickets.delete(key);
          break;
        }
    }
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + STREAM_TICKET_TTL_MS;
    this.tickets.set(hash(ticket), { tokenId, path, expiresAt });
    return { ticket, expiresAt };
  }

  /** The token id a ticket was issued for, consuming it; null when unknown, expired, used, or for another path. */
  redeem(ticket: string, path: string): string | null {
    const key = hash(ticket);
    const t = this.tickets.get(key);
    if (!t) return null;
    this.tickets.delete(key);
    if (t.expiresAt <= this.now() || t.path !== path) return null;
    return t.tokenId;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(key);
  }
}

function hash(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex');
}
