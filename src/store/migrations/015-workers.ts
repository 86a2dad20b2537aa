import type { Kysely } from 'kysely';

/**
 * Remote workers: one row per worker name with its lease, which execution runs where, why a queued
 * execution waits, and which worker holds each pipeline's filesystem.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('workers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('session', 'text', (c) => c.notNull())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull()) // JSON string[]
    .addColumn('cpu', 'text', (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull()) // ONLINE, LOST, STOPPED
    .addColumn('registered_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('pipeline_filesystems')
    .addColumn('pipeline_id', 'integer', (c) => c.primaryKey())
    // '' is the server's own local runner.
    .addColumn('worker', 'text', (c) => c.notNull())
    .addColumn('update_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('executions').addColumn('worker', 'text').execute();
  await db.schema.alterTable('executions').addColumn('worker_session', 'text').execute();
  await db.schema.alterTable('executions').addColumn('claim_date', 'text').execute();
  await db.schema.alterTable('executions').addColumn('wait_reason', 'text').execute();
}
