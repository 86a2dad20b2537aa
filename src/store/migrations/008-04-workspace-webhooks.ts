import type { Kysely } from 'kysely';
import { autoIncrementPrimaryKey } from '../dialect.ts';

/**
 * Outgoing workspace webhooks and their outbox: a delivery row is written in the same transaction as
 * the status change it reports, and a dispatcher sends it later (claimed, retried with backoff).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('workspace_webhooks')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('target_url', 'text', (c) => c.notNull())
    .addColumn('secret_key', 'text') // sealed
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('projects', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('webhook_id', 'integer', (c) =>
      c.notNull().references('workspace_webhooks.id').onDelete('cascade'),
    )
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // PENDING | DELIVERED | FAILED
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('claimed_until', 'text')
    .addColumn('post_date', 'text')
    .addColumn('response_status', 'text')
    .addColumn('response_body', 'text')
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_by_webhook')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'id'])
    .execute();
}
