import type { Kysely } from 'kysely';

/**
 * The next slot of every SCHEDULE event, persisted so that a restart neither forgets nor repeats a
 * slot: a server claims a slot by moving next_run_at forward in one conditional UPDATE.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('pipeline_schedules')
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
    .addColumn('event_index', 'integer', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('next_run_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('pipeline_schedules_pk', ['pipeline_id', 'event_index'])
    .execute();
  await db.schema
    .createIndex('pipeline_schedules_due')
    .on('pipeline_schedules')
    .column('next_run_at')
    .execute();
}
