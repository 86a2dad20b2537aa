import type { Db } from '../../src/store/database.ts';
import type { ExecutionRow } from '../../src/store/schema.ts';
import { now } from '../../src/store/time.ts';

/**
 * A workspace, project and pipeline with `actions` actions and one ENQUEUED execution of them, written
 * straight into the store (no API, no engine) for tests of store functions.
 */
export async function seedExecution(
  db: Db,
  actions = 3,
): Promise<{
  pipelineId: number;
  execution: ExecutionRow;
  actionExecutionIds: string[];
  actionIds: number[];
}> {
  const at = now();
  const user = await db
    .insertInto('users')
    .values({ name: 'u', email: `u${Math.random()}@example.com`, admin: 1, create_date: at })
    .returningAll()
    .executeTakeFirstOrThrow();
  const ws = await db
    .insertInto('workspaces')
    .values({ domain: `ws${user.id}`, name: 'ws', owner_id: user.id, frozen: 0, create_date: at })
    .returningAll()
    .executeTakeFirstOrThrow();
  const project = await db
    .insertInto('projects')
    .values({
      workspace_id: ws.id,
      name: 'p',
      display_name: 'p',
      status: 'ACTIVE',
      create_date: at,
      created_by: user.id,
      custom_repo_url: null,
      custom_repo_user: null,
      custom_repo_pass: null,
      default_branch: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const pipeline = await db
    .insertInto('pipelines')
    .values({
      project_id: project.id,
      name: 'pl',
      identifier: `pl${user.id}`,
      settings: '{}',
      priority: 'NORMAL',
      concurrent_pipeline_runs: 0,
      creator_id: user.id,
      create_date: at,
      last_execution_status: 'INITIAL',
      last_execution_revision: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const actionIds: number[] = [];
  for (let i = 0; i < actions; i += 1) {
    const a = await db
      .insertInto('actions')
      .values({
        pipeline_id: pipeline.id,
        position: i,
        type: 'RUN_DOCKER_CONTAINER',
        name: `a${i}`,
        settings: '{}',
        secrets: '',
        last_execution_status: 'INITIAL',
        create_date: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    actionIds.push(a.id);
  }
  const execution = await db
    .insertInto('executions')
    .values({
      pipeline_id: pipeline.id,
      status: 'ENQUEUED',
      priority: 'NORMAL',
      priority_rank: 1,
      triggered_on: 'CLICK',
      refresh: 0,
      clear_cache: 0,
      comment: null,
      branch: 'main',
      tag: null,
      revision: 'abc',
      from_revision: null,
      commit_info: null,
      from_commit_info: null,
      changeset: null,
      request: '{}',
      environment_id: null,
      package_version_id: null,
      package_info: null,
      creator_id: user.id,
      enqueue_date: at,
      delay_until: null,
      start_date: null,
      finish_date: null,
      error_message: null,
      resume_pending: 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const actionExecutionIds: string[] = [];
  for (const [i, actionId] of actionIds.entries()) {
    const id = `${String(execution.id).padStart(12, '0')}${String(i).padStart(12, '0')}`;
    await db
      .insertInto('action_executions')
      .values({
        id,
        execution_id: execution.id,
        action_id: actionId,
        position: i,
        status: 'ENQUEUED',
        progress: 0,
        start_date: null,
        finish_date: null,
        error_message: null,
        action_snapshot: '{}',
        container_id: null,
        log_lines: 0,
        passed_variables: '[]',
        outputted_variables: '[]',
        terminator_id: null,
        termination_date: null,
      })
      .execute();
    actionExecutionIds.push(id);
  }
  return { pipelineId: pipeline.id, execution, actionExecutionIds, actionIds };
}
