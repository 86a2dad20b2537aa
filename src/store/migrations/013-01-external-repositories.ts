import type { Kysely } from 'kysely';

/**
 * What Gantry keeps per external repository (custom_repo_url) to start pipelines on its changes: the
 * refs it last triggered on and the URL they were read from (null until the first poll takes them as
 * the baseline; a new URL takes a new baseline) with a version
 * for compare-and-set, the poll interval override and schedule, the last poll's outcome, and the
 * sealed secret a forge signs its push webhooks with.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('external_repositories')
    .addColumn('project_id', 'integer', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('source', 'text')
    .addColumn('refs', 'text')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('poll_interval', 'integer')
    .addColumn('next_poll_at', 'text')
    .addColumn('last_poll_at', 'text')
    .addColumn('last_poll_error', 'text')
    .addColumn('push_secret', 'text')
    .execute();
}
