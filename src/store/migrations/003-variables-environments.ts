import type { Kysely } from 'kysely';
import { autoIncrementPrimaryKey } from '../dialect.ts';

/** Variables created through the API at any scope, and environments with their own variables. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('environments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('icon', 'text')
    .addColumn('public_url', 'text')
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('environments_by_workspace')
    .on('environments')
    .columns(['workspace_id', 'identifier'])
    .execute();

  await db.schema
    .createTable('variables')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('pipeline_id', 'integer', (c) => c.references('pipelines.id').onDelete('cascade'))
    .addColumn('action_id', 'integer', (c) => c.references('actions.id').onDelete('cascade'))
    .addColumn('environment_id', 'text', (c) => c.references('environments.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('encrypted', 'integer', (c) => c.notNull())
    .addColumn('settable', 'integer', (c) => c.notNull())
    .addColumn('file_place', 'text', (c) => c.notNull())
    .addColumn('file_path', 'text')
    .addColumn('file_chmod', 'text')
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('variables_by_workspace')
    .on('variables')
    .columns(['workspace_id', 'key'])
    .execute();
  // The environment an execution runs in (its variables apply); null when none was named.
  await db.schema.alterTable('executions').addColumn('environment_id', 'text').execute();
  // What each action received from the run request and earlier actions, and what it set (JSON, secrets sealed).
  await db.schema
    .alterTable('action_executions')
    .addColumn('passed_variables', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  await db.schema
    .alterTable('action_executions')
    .addColumn('outputted_variables', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
}
