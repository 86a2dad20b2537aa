import type { Kysely } from 'kysely';

/**
 * A pipeline's trigger webhook: the hash of its secret (the secret itself is shown once) and, with
 * TOTP, the sealed TOTP key and the last time step used, so that a code is accepted only once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('pipeline_trigger_webhooks')
    .addColumn('pipeline_id', 'integer', (c) => c.primaryKey().references('pipelines.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('totp_secret', 'text')
    .addColumn('totp_last_step', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
}
