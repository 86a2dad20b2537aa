import type { Kysely } from 'kysely';

/** Why the last event or schedule that matched a pipeline did not start a run (JSON), shown on the pipeline. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('pipelines').addColumn('last_skipped_trigger', 'text').execute();
}
