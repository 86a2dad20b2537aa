import type { Kysely } from 'kysely';

/** A pipeline's permissions live in its `settings` JSON with Buddy's other pipeline fields; the side table goes. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('pipeline_permissions').ifExists().execute();
}
