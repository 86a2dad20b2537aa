import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../dialect.ts';

/**
 * Action logs in the database as chunks of whole lines, so that any server on a shared PostgreSQL can
 * serve a log another server wrote (each server still writes its own file first). A chunk holds lines
 * [first_line, first_line + line_count) as the bytes the file holds. Unused on SQLite, whose one
 * server reads its files.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('log_chunks')
    .addColumn('action_execution_id', 'text', (c) => c.notNull())
    .addColumn('first_line', 'integer', (c) => c.notNull())
    .addColumn('line_count', 'integer', (c) => c.notNull())
    .addColumn('byte_end', 'bigint', (c) => c.notNull())
    .addColumn('data', isPostgres(db) ? sql`bytea` : 'blob', (c) => c.notNull())
    .addPrimaryKeyConstraint('log_chunks_pk', ['action_execution_id', 'first_line'])
    .execute();
}
