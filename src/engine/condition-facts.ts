import type { InlineVariable } from '../domain/pipeline.ts';
import {
  successPipelineKey,
  unmetTriggerCondition,
  type ConditionFacts,
} from '../domain/trigger-conditions.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import { userGroups } from '../store/groups.ts';
import { getUser } from '../store/identity.ts';
import { lastFinishedStatus, type Pipeline } from '../store/pipelines.ts';
import type { ProjectRow } from '../store/schema.ts';
import { pipelineReadableBy } from './run-permissions.ts';
import { fromInline, loadExecutionLevels, mergeLevels } from './variable-scope.ts';

/** The run a pipeline's trigger conditions are checked for, as resolved just before it is created. */
export interface RunCandidate {
  branch: string | null;
  tag: string | null;
  revision: string;
  /** Paths changed since the changeset base; null without a base. */
  changedPaths: readonly string[] | null;
  /** The request's variables (sealed when encrypted). */
  variables: readonly InlineVariable[];
  environmentId: string | null;
  creatorId: number;
}

/**
 * Why the pipeline's trigger conditions stop this run, or null when they all hold (or there are none).
 * Reads only what the conditions need: variables for VAR_*, the triggering user for TRIGGERING_USER_*,
 * the named pipelines for SUCCESS_PIPELINE.
 */
export async function triggerConditionBlocker(
  deps: { db: Db; secrets: SecretBox },
  project: ProjectRow,
  pipeline: Pipeline,
  run: RunCandidate,
): Promise<string | null> {
  const conditions = pipeline.settings.trigger_conditions;
  if (conditions.length === 0) return null;
  const kinds = new Set(conditions.map((c) => c.trigger_condition));
  const { db, secrets } = deps;

  let variables = new Map<string, string>();
  if ([...kinds].some((k) => k.startsWith('VAR_'))) {
    const builtIns = {
      BUDDY_EXECUTION_BRANCH: run.branch ?? '',
      BUDDY_EXECUTION_TAG: run.tag ?? '',
      BUDDY_EXECUTION_REVISION: run.revision,
      BUDDY_PIPELINE_ID: String(pipeline.id),
      BUDDY_PIPELINE_NAME: pipeline.name,
      BUDDY_PROJECT_NAME: project.name,
    };
    const levels = await loadExecutionLevels(
      db,
      secrets,
      {
        workspaceId: project.workspace_id,
        projectId: project.id,
        environmentId: run.environmentId,
        pipelineId: pipeline.id,
      },
      pipeline.settings.variables,
    );
    const merged = mergeLevels([
      Object.entries(builtIns).map(([key, value]) => fromInline(secrets, { key, value, encrypted: false })),
      ...levels,
      run.variables.map((v) => fromInline(secrets, v)),
    ]);
    variables = new Map([...merged].map(([k, v]) => [k, v.value]));
  }

  const pipelineStatuses = new Map<string, string>();
  for (const c of conditions) {
    if (c.trigger_condition !== 'SUCCESS_PIPELINE') continue;
    // A pipeline the run's user may not see counts as missing: its status must not leak to them.
    const named = await pipelineReadableBy(
      db,
      project.workspace_id,
      run.creatorId,
      c.trigger_project_name,
      c.trigger_pipeline_name,
    );
    if (named)
      pipelineStatuses.set(
        successPipelineKey(c.trigger_project_name, c.trigger_pipeline_name),
        await lastFinishedStatus(db, named.id),
      );
  }

  let user: ConditionFacts['user'] = { email: '', groups: new Set() };
  if ([...kinds].some((k) => k.startsWith('TRIGGERING_USER_'))) {
    const row = await getUser(db, run.creatorId);
    user = {
      email: row?.email ?? '',
      groups: new Set((await userGroups(db, project.workspace_id, run.creatorId)).map((g) => g.name)),
    };
  }

  return unmetTriggerCondition(conditions, {
    changedPaths: run.changedPaths,
    variables,
    nowMs: Date.now(),
    pipelineStatuses,
    user,
  });
}
