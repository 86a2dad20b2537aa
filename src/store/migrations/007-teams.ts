import { sql, type Kysely } from 'kysely';
import { autoIncrementPrimaryKey } from '../dialect.ts';

/**
 * Teams: workspace members, permission sets (three built in per workspace), groups and their members,
 * project members and groups, per-object permissions of pipelines, environments and integrations,
 * passwords and one-time password links. Existing workspaces get their owner as admin member and the
 * built-in sets; existing projects get their creator as project manager.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('password_hash', 'text').execute();
  await db.schema
    .createTable('password_links')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('workspace_members')
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('admin', 'integer', (c) => c.notNull())
    .addColumn('auto_assign_to_new_projects', 'integer', (c) => c.notNull())
    .addColumn('auto_assign_permission_set_id', 'integer')
    .addColumn('create_date', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('workspace_members_pk', ['workspace_id', 'user_id'])
    .execute();
  await db.schema
    .createIndex('workspace_members_by_user')
    .on('workspace_members')
    .column('user_id')
    .execute();

  await db.schema
    .createTable('permission_sets')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('pipeline_access_level', 'text', (c) => c.notNull())
    .addColumn('project_team_access_level', 'text', (c) => c.notNull())
    .addColumn('repository_access_level', 'text', (c) => c.notNull())
    .addColumn('sandbox_access_level', 'text', (c) => c.notNull())
    .addColumn('environment_access_level', 'text', (c) => c.notNull())
    .addColumn('target_access_level', 'text', (c) => c.notNull())
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('permission_sets_by_workspace')
    .on('permission_sets')
    .column('workspace_id')
    .execute();

  await db.schema
    .createTable('member_groups')
    .addColumn('id', 'integer', autoIncrementPrimaryKey(db))
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('auto_assign_to_new_projects', 'integer', (c) => c.notNull())
    .addColumn('auto_assign_permission_set_id', 'integer')
    .addColumn('create_date', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'integer', (c) => c.notNull().references('member_groups.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('group_members_by_user').on('group_members').column('user_id').execute();

  await db.schema
    .createTable('project_members')
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('permission_set_id', 'integer', (c) => c.notNull().references('permission_sets.id'))
    .addPrimaryKeyConstraint('project_members_pk', ['project_id', 'user_id'])
    .execute();
  await db.schema
    .createTable('project_groups')
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('group_id', 'integer', (c) => c.notNull().references('member_groups.id').onDelete('cascade'))
    .addColumn('permission_set_id', 'integer', (c) => c.notNull().references('permission_sets.id'))
    .addPrimaryKeyConstraint('project_groups_pk', ['project_id', 'group_id'])
    .execute();

  // Columns shared by the pipeline, environment and integration permission tables.
  const objectPermissions = (b: ReturnType<Kysely<unknown>['schema']['createTable']>) =>
    b
      .addColumn('others', 'text', (c) => c.notNull())
      .addColumn('admins', 'text')
      .addColumn('users', 'text', (c) => c.notNull()) // JSON [{id, access_level}]
      .addColumn('groups', 'text', (c) => c.notNull());
  await objectPermissions(
    db.schema
      .createTable('pipeline_permissions')
      .addColumn('pipeline_id', 'integer', (c) =>
        c.primaryKey().references('pipelines.id').onDelete('cascade'),
      ),
  ).execute();
  await objectPermissions(
    db.schema
      .createTable('environment_permissions')
      .addColumn('environment_id', 'text', (c) =>
        c.primaryKey().references('environments.id').onDelete('cascade'),
      ),
  ).execute();
  await objectPermissions(
    db.schema
      .createTable('integration_permissions')
      .addColumn('integration_id', 'integer', (c) =>
        c.primaryKey().references('integrations.id').onDelete('cascade'),
      ),
  ).execute();

  // Backfill: owners become admin members, each workspace gets the built-in sets, creators manage their projects.
  await sql`INSERT INTO workspace_members (workspace_id, user_id, admin, auto_assign_to_new_projects, create_date)
            SELECT id, owner_id, 1, 0, create_date FROM workspaces`.execute(db);
  for (const [type, name, levels] of BUILT_IN_ROWS) {
    await sql`INSERT INTO permission_sets (workspace_id, name, description, type, pipeline_access_level,
                project_team_access_level, repository_access_level, sandbox_access_level,
                environment_access_level, target_access_level, create_date)
              SELECT id, ${name}, '', ${type}, ${levels[0]}, ${levels[1]}, ${levels[2]}, ${levels[3]},
                ${levels[4]}, ${levels[5]}, create_date FROM workspaces`.execute(db);
  }
  await sql`INSERT INTO project_members (project_id, user_id, permission_set_id)
            SELECT p.id, p.created_by, s.id FROM projects p
            JOIN permission_sets s ON s.workspace_id = p.workspace_id AND s.type = 'PROJECT_MANAGER'`.execute(
    db,
  );
}

/**
 * The built-in sets as they were when this migration was written (pipeline, project team, repository,
 * sandbox, environment, target). Frozen here so that a later change of the defaults does not rewrite history.
 */
const BUILT_IN_ROWS: [string, string, string[]][] = [
  ['DEVELOPER', 'Developer', ['RUN_ONLY', 'READ_ONLY', 'READ_WRITE', 'READ_WRITE', 'USE_ONLY', 'USE_ONLY']],
  ['READ_ONLY', 'Read only', ['READ_ONLY', 'READ_ONLY', 'READ_ONLY', 'READ_ONLY', 'USE_ONLY', 'READ_ONLY']],
  [
    'PROJECT_MANAGER',
    'Project manager',
    ['READ_WRITE', 'MANAGE', 'MANAGE', 'READ_WRITE', 'MANAGE', 'MANAGE'],
  ],
];
