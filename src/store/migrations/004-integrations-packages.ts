import type { Kysely } from 'kysely';
import { autoIncrementPrimaryKey } from '../dialect.ts';

/**
 * Registry integrations (credentials sealed), FILE packages with versions whose files live in the data
 * directory, and the package version an execution is pinned to.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('integrations')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('hash_id', 'text', (c) => c.notNull().unique())
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('username', 'text')
    .addColumn('password', 'text')
    .addColumn('host', 'text')
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('integrations_by_identifier')
    .on('integrations')
    .columns(['workspace_id', 'identifier'])
    .unique()
    .execute();

  await db.schema
    .createTable('packages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('packages_by_identifier')
    .on('packages')
    .columns(['workspace_id', 'identifier'])
    .execute();

  await db.schema
    .createTable('package_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('package_id', 'text', (c) => c.notNull().references('packages.id').onDelete('cascade'))
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('archive_format', 'text', (c) => c.notNull())
    .addColumn('archive_size', 'integer', (c) => c.notNull())
    .addColumn('created_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('package_versions_by_version')
    .on('package_versions')
    .columns(['package_id', 'version'])
    .unique()
    .execute();

  // No foreign key: a finished execution keeps showing the version it ran with after it is deleted.
  await db.schema.alterTable('executions').addColumn('package_version_id', 'text').execute();
  // JSON snapshot of the pinned package and version as they were when the execution was accepted.
  await db.schema.alterTable('executions').addColumn('package_info', 'text').execute();
}
