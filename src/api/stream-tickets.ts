import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/database.ts';

/** How long a stream ticket may wait for its connection. */
export const STREAM_TICKET_TTL_MS = 60_000;
/** Unredeemed tickets a single token may hold at once (a page opens a handful of streams). */
const MAX_PER_TOKEN = 50;

/**
 * Short-lived, single-purpose credentials for Server-Sent Event streams. A browser's EventSource
 * cannot send an Authorization header, so instead of putting the long-lived API token in the URL
 * (where proxies, logs and the browser history keep it), the page asks for a ticket with its token
 * and opens the stream with `?ticket=`. A ticket is good for one connection to one URL path, within
 * a minute. Tickets live in the database (only their SHA-256), so a ticket issued by one server
 * process opens a stream on any other sharing the database; redeeming deletes the row, so of two
 * processes racing for one ticket exactly one wins.
 */
export class StreamTickets {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new ticket for one connection to `path` on behalf of the token `tokenId`. */
  async issue(tokenId: string, path: string): Promise<{ ticket: string; expiresAt: number }> {
    const now = this.now();
    await this.db.deleteFrom('stream_tickets').where('expires_at', '<=', iso(now)).execute();
    // Drop this token's oldest tickets rather than refuse: a page that reconnects often must not lock itself out.
    const held = await this.db
      .selectFrom('stream_tickets')
      .select('ticket_hash')
      .where('token_id', '=', tokenId)
      .orderBy('create_date', 'desc')
      .orderBy('ticket_hash')
      .offset(MAX_PER_TOKEN - 1)
      .limit(1000)
      .execute();
    if (held.length > 0)
      await this.db
        .deleteFrom('stream_tickets')
        .where(
          'ticket_hash',
          'in',
          held.map((r) => r.ticket_hash),
        )
        .execute();
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = now + STREAM_TICKET_TTL_MS;
    await this.db
      .insertInto('stream_tickets')
      .values({
        ticket_hash: hash(ticket),
        token_id: tokenId,
        path,
        expires_at: iso(expiresAt),
        create_date: iso(now),
      })
      .execute();
    return { ticket, expiresAt };
  }

  /** The token id a ticket was issued for, consuming it; null when unknown, expired, used, or for another path. */
  async redeem(ticket: string, path: string): Promise<string | null> {
    const t = await this.db
      .deleteFrom('stream_tickets')
      .where('ticket_hash', '=', hash(ticket))
      .returning(['token_id', 'path', 'expires_at'])
      .executeTakeFirst();
    if (!t) return null;
    if (t.expires_at <= iso(this.now()) || t.path !== path) return null;
    return t.token_id;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function hash(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex');
}
