import type { Kysely } from 'kysely';

/**
 * Stream tickets (single-use credentials for Server-Sent Event streams) in the database, so that a
 * ticket issued by one server process opens a stream on another sharing the database. Only the
 * ticket's SHA-256 is kept; `expires_at` is an ISO date (compared as text).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('stream_tickets')
    .addColumn('ticket_hash', 'text', (c) => c.primaryKey())
    .addColumn('token_id', 'text', (c) => c.notNull().references('tokens.id').onDelete('cascade'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('stream_tickets_token').on('stream_tickets').columns(['token_id']).execute();
  await db.schema.createIndex('stream_tickets_expiry').on('stream_tickets').columns(['expires_at']).execute();
}
