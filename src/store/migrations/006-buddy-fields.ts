import type { Kysely } from 'kysely';
import { autoIncrementPrimaryKey } from '../dialect.ts';

/**
 * Everything Buddy's own clients send and read back (buddy-api-clients.md): the workspace encryption
 * salt, project/environment/integration settings kept as JSON, SSH key details of variables, project-
 * scoped and sealed-credential integrations, and the profile's e-mail addresses and public SSH keys.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').addColumn('encryption_salt', 'text').execute();
  await db.schema
    .alterTable('projects')
    .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  for (const column of ['public_value', 'key_fingerprint', 'checksum'])
    await db.schema.alterTable('variables').addColumn(column, 'text').execute();
  await db.schema
    .alterTable('environments')
    .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .alterTable('integrations')
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .execute();
  await db.schema
    .alterTable('integrations')
    .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.alterTable('integrations').addColumn('secrets', 'text').execute();

  await db.schema
    .createTable('user_emails')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('confirmed', 'integer', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('user_keys')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_keys').execute();
  await db.schema.dropTable('user_emails').execute();
  for (const column of ['secrets', 'settings', 'project_id'])
    await db.schema.alterTable('integrations').dropColumn(column).execute();
  await db.schema.alterTable('environments').dropColumn('settings').execute();
  for (const column of ['checksum', 'key_fingerprint', 'public_value'])
    await db.schema.alterTable('variables').dropColumn(column).execute();
  await db.schema.alterTable('projects').dropColumn('settings').execute();
  await db.schema.alterTable('workspaces').dropColumn('encryption_salt').execute();
}
