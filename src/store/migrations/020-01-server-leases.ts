import type { Kysely } from 'kysely';

/**
 * The lease of each server's local runner (servers sharing a database): renewed by the server's
 * heartbeat; a server whose lease expires (it died for good) has its local runs ended by another.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('server_leases')
    // The worker_session its local runner records on what it claims: `local:<instance label>`.
    .addColumn('session', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull()) // ONLINE, LOST, STOPPED
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'text', (c) => c.notNull())
    .execute();
}
