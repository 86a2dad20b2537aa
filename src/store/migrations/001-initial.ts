import type { Kysely } from 'kysely';
import { autoIncrementPrimaryKey } from '../dialect.ts';

/** The first schema: identity, the resource tree, and executions designed for many rows per pipeline. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('ip_restrictions', 'text', (c) => c.notNull())
    .addColumn('workspace_restrictions', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('domain', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('frozen', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .addColumn('created_by', 'integer', (c) => c.notNull())
    .addColumn('custom_repo_url', 'text')
    .addColumn('custom_repo_user', 'text')
    .addColumn('custom_repo_pass', 'text')
    .addColumn('default_branch', 'text')
    .addUniqueConstraint('projects_workspace_name', ['workspace_id', 'name'])
    .execute();

  await db.schema
    .createTable('pipelines')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('priority', 'text', (c) => c.notNull())
    .addColumn('concurrent_pipeline_runs', 'integer', (c) => c.notNull())
    .addColumn('creator_id', 'integer', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .addColumn('last_execution_status', 'text', (c) => c.notNull())
    .addColumn('last_execution_revision', 'text')
    .addUniqueConstraint('pipelines_project_identifier', ['project_id', 'identifier'])
    .execute();
  await db.schema.createIndex('pipelines_by_project').on('pipelines').columns(['project_id', 'id']).execute();

  await db.schema
    .createTable('actions')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('secrets', 'text', (c) => c.notNull())
    .addColumn('last_execution_status', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('actions_by_pipeline')
    .on('actions')
    .columns(['pipeline_id', 'position'])
    .execute();

  await db.schema
    .createTable('executions')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('priority', 'text', (c) => c.notNull())
    .addColumn('priority_rank', 'integer', (c) => c.notNull())
    .addColumn('triggered_on', 'text', (c) => c.notNull())
    .addColumn('refresh', 'integer', (c) => c.notNull())
    .addColumn('clear_cache', 'integer', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('branch', 'text')
    .addColumn('tag', 'text')
    .addColumn('revision', 'text')
    .addColumn('from_revision', 'text')
    .addColumn('commit_info', 'text')
    .addColumn('from_commit_info', 'text')
    .addColumn('changeset', 'text')
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('creator_id', 'integer', (c) => c.notNull())
    .addColumn('enqueue_date', 'text', (c) => c.notNull())
    .addColumn('delay_until', 'text')
    .addColumn('start_date', 'text')
    .addColumn('finish_date', 'text')
    .addColumn('error_message', 'text')
    .execute();
  // "Executions of a pipeline, newest first" and "what is queued, best first" are the hot reads.
  await db.schema
    .createIndex('executions_by_pipeline')
    .on('executions')
    .columns(['pipeline_id', 'id'])
    .execute();
  await db.schema
    .createIndex('executions_by_status')
    .on('executions')
    .columns(['status', 'priority_rank', 'id'])
    .execute();

  await db.schema
    .createTable('action_executions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('execution_id', 'integer', (c) => c.notNull().references('executions.id').onDelete('cascade'))
    .addColumn('action_id', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('progress', 'integer', (c) => c.notNull())
    .addColumn('start_date', 'text')
    .addColumn('finish_date', 'text')
    .addColumn('error_message', 'text')
    .addColumn('action_snapshot', 'text', (c) => c.notNull())
    .addColumn('container_id', 'text')
    .addColumn('log_lines', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('terminator_id', 'integer')
    .addColumn('termination_date', 'text')
    .execute();
  await db.schema
    .createIndex('action_executions_by_execution')
    .on('action_executions')
    .columns(['execution_id', 'position'])
    .execute();

  await db.schema
    .createTable('execution_events')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('execution_id', 'integer', (c) => c.notNull().references('executions.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('execution_events_by_execution')
    .on('execution_events')
    .columns(['execution_id', 'id'])
    .execute();
}
