import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../dialect.ts';

/**
 * Package version archives in the database, so that every server on a shared database serves every
 * version (before, they lived in the data directory of the server that received the upload).
 * `package_contents` has one row per stored archive (its id is the version's id; the upload writes it
 * before the version row exists, so there is no foreign key to the version), `package_chunks` the
 * archive's bytes in order. A content is read only once `complete`. A content without its version (a deleted version, a workspace deleted
 * with its packages, an upload that crashed) is swept.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('package_contents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    // 0 while chunks are written, 1 once all are: an archive is read only when complete.
    .addColumn('complete', 'integer', (c) => c.notNull())
    .addColumn('created_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('package_chunks')
    .addColumn('content_id', 'text', (c) => c.notNull().references('package_contents.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', isPostgres(db) ? sql`bytea` : 'blob', (c) => c.notNull())
    .addPrimaryKeyConstraint('package_chunks_pk', ['content_id', 'seq'])
    .execute();
}
