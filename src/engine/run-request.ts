import { referencedNames } from '../domain/variables.ts';
import { randomBytes } from 'node:crypto';
import type { InlineVariable } from '../domain/pipeline.ts';
import { priorityRank, type Priority } from '../domain/status.ts';
import {
  EmptyRepositoryError,
  InvalidRefError,
  RepositoryError,
  RevisionNotFoundError,
} from '../repo/index.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import { sealVariables } from '../secrets/variables.ts';
import { listActions } from '../store/actions.ts';
import { environmentSettings, findEnvironmentForProject } from '../store/environments.ts';
import { environmentAllowsPipeline } from '../domain/environment-use.ts';
import type { Db } from '../store/database.ts';
import { createExecution, lastSuccessfulRevision } from '../store/executions.ts';
import type { Pipeline } from '../store/pipelines.ts';
import type { ExecutionRow, ProjectRow } from '../store/schema.ts';
import { branchOfRefs, runBlocker } from '../domain/pipeline.ts';
import type { ProjectRepositories } from './project-repositories.ts';
import { resolvePackageVersion } from './package-pin.ts';
import { triggerConditionBlocker } from './condition-facts.ts';

/** What a client asks for in POST .../executions (seed 000). */
export interface RunRequestBody {
  to_revision?: { revision?: string };
  from_revision?: { revision?: string };
  branch?: { name?: string };
  tag?: { name?: string };
  comment?: string;
  refresh?: boolean;
  clear_cache?: boolean;
  priority?: Priority;
  delay_until?: string;
  environment?: string;
  package_version?: string;
  actions_to_run?: number[];
  variables?: { key: string; value: string; encrypted?: boolean }[];
}

/** The parts of a request the runner needs later, stored with the execution (secrets sealed). */
export interface ExecutionRequest {
  variables: InlineVariable[];
  actions_to_run: number[];
  environment: string | null;
  package_version: string | null;
}

/** How a run came about: a person (CLICK, the default) or a trigger, with the ref it is reported under. */
export interface RunOrigin {
  triggeredOn: 'CLICK' | 'EVENT' | 'SCHEDULE' | 'WEBHOOK';
  /** For a deleted ref the run is at its last revision, reported under the ref's name. */
  reportRef?: { branch: string | null; tag: string | null };
  /**
   * The caller may edit the pipeline's actions, so its run variables may also set the fields that decide
   * a container's privileges or where credentials go (PRIVILEGED_FIELDS). False when absent.
   */
  mayEditActions?: boolean;
}

/**
 * Action fields that decide who a container runs as or where stored credentials are sent: a run
 * variable that would change one of them (through `$NAME` in it) needs permission to edit the action,
 * or running would grant more than running (e.g. `run_as_user: $USER` overridden to root, or
 * `docker_image_name: $IMAGE` pointed at another registry with the action's login).
 */
const PRIVILEGED_FIELDS = [
  'run_as_user',
  'docker_image_name',
  'registry',
  'login',
  'docker_registry',
] as const;

/** A message naming the first privileged field a run variable would change, or null. */
export function privilegedOverride(
  actions: readonly { name: string; settings: object }[],
  variableKeys: readonly string[],
): string | null {
  if (variableKeys.length === 0) return null;
  const keys = new Set(variableKeys);
  for (const a of actions) {
    const settings = a.settings as Record<string, unknown>;
    for (const field of PRIVILEGED_FIELDS) {
      const value = settings[field];
      if (typeof value !== 'string') continue;
      const name = referencedNames(value).find((n) => keys.has(n));
      if (name !== undefined)
        return `variable "${name}" would change ${field} of action "${a.name}"; only a caller who may edit the pipeline's actions can set it in a run`;
    }
  }
  return null;
}

/** A run request the server refuses; `status` is the HTTP status to answer. */
export class RunRequestError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** A pipeline's trigger conditions do not hold for this run: nothing is created. */
export class ConditionNotMetError extends RunRequestError {
  constructor(message: string) {
    super(400, message);
  }
}

/** 24 hex characters, the shape of Buddy's action_execution_id. */
export function newActionExecutionId(): string {
  return randomBytes(12).toString('hex');
}

async function resolveOrReject<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RevisionNotFoundError) throw new RunRequestError(404, err.message);
    if (err instanceof InvalidRefError) throw new RunRequestError(400, err.message);
    if (err instanceof EmptyRepositoryError)
      throw new RunRequestError(400, 'the repository has no commits yet; push one first');
    if (err instanceof RepositoryError)
      throw new RunRequestError(400, `cannot read the repository: ${err.message}`);
    throw err;
  }
}

/**
 * Validates a run request, resolves its revisions against a fresh fetch of the repository and
 * persists the execution (ENQUEUED) with one action execution per action. Nothing is written when
 * the request is refused.
 */
export async function acceptRunRequest(
  deps: { db: Db; repositories: ProjectRepositories; secrets: SecretBox },
  project: ProjectRow,
  pipeline: Pipeline,
  body: RunRequestBody,
  creatorId: number,
  origin: RunOrigin = { triggeredOn: 'CLICK' },
): Promise<ExecutionRow> {
  if (pipeline.settings.disabled)
    throw new RunRequestError(
      400,
      `pipeline is disabled${pipeline.settings.disabled_reason ? `: ${pipeline.settings.disabled_reason}` : ''}`,
    );
  const blocker = runBlocker(pipeline.settings);
  if (blocker) throw new RunRequestError(400, blocker);
  let environmentId: string | null = null;
  if (body.environment !== undefined) {
    const environment = await findEnvironmentForProject(
      deps.db,
      project.workspace_id,
      project.id,
      body.environment,
    );
    if (!environment) throw new RunRequestError(404, `environment "${body.environment}" not found`);
    if (!environmentAllowsPipeline(environmentSettings(environment), project.name, pipeline))
      throw new RunRequestError(
        403,
        `environment "${body.environment}" does not let pipeline "${pipeline.name}" of project "${project.name}" run in it (its pipelines_access_level and allowed_pipelines)`,
      );
    environmentId = environment.id;
  }
  const pinned =
    body.package_version !== undefined
      ? await resolvePackageVersion(deps.db, project, body.package_version)
      : null;
  if (typeof pinned === 'string') throw new RunRequestError(404, pinned);
  const actions = await listActions(deps.db, pipeline.id);
  if (actions.length === 0) throw new RunRequestError(400, 'pipeline has no actions to run');
  for (const id of body.actions_to_run ?? []) {
    if (!actions.some((a) => a.id === id))
      throw new RunRequestError(
        400,
        `actions_to_run: action ${id} is not an action of pipeline ${pipeline.id}`,
      );
  }
  let delayUntil: string | null = null;
  if (body.delay_until !== undefined) {
    const t = Date.parse(body.delay_until);
    if (Number.isNaN(t)) throw new RunRequestError(400, 'delay_until must be an ISO-8601 date');
    delayUntil = new Date(t).toISOString();
  }
  const variables = sealVariables(deps.secrets, body.variables ?? []);
  if (typeof variables === 'string') throw new RunRequestError(400, variables);
  if (origin.mayEditActions !== true) {
    const selected = body.actions_to_run?.length
      ? actions.filter((a) => body.actions_to_run!.includes(a.id))
      : actions;
    const override = privilegedOverride(
      selected,
      variables.map((v) => v.key),
    );
    if (override !== null) throw new RunRequestError(403, override);
  }

  await resolveOrReject(() => deps.repositories.sync(project));
  const branchName = body.branch?.name ?? null;
  const tagName = body.tag?.name ?? null;
  const revision = body.to_revision?.revision ?? 'HEAD';
  const resolved = await resolveOrReject(() =>
    deps.repositories.resolve(
      project,
      { revision, branch: branchName, tag: tagName },
      branchOfRefs(pipeline.settings.refs),
    ),
  );
  const to = origin.reportRef ? { ...resolved, ...origin.reportRef } : resolved;
  const fromSha =
    body.from_revision?.revision !== undefined
      ? (
          await resolveOrReject(() =>
            deps.repositories.resolve(
              project,
              { revision: body.from_revision!.revision!, branch: null, tag: null },
              to.branch,
            ),
          )
        ).sha
      : await lastSuccessfulRevision(deps.db, pipeline.id);
  const commit = await resolveOrReject(() => deps.repositories.commit(project.id, to.sha));
  const fromCommit = fromSha
    ? await resolveOrReject(() => deps.repositories.commit(project.id, fromSha)).catch(() => null)
    : null;
  const changeset = fromSha
    ? await resolveOrReject(() => deps.repositories.changes(project.id, fromSha, to.sha)).catch(() => null)
    : null;
  const unmet = await triggerConditionBlocker(deps, project, pipeline, {
    branch: to.branch,
    tag: to.tag,
    revision: to.sha,
    changedPaths: changeset,
    variables,
    environmentId,
    creatorId,
  });
  if (unmet) throw new ConditionNotMetError(unmet);

  const priority = body.priority ?? pipeline.settings.priority;
  const request: ExecutionRequest = {
    variables,
    actions_to_run: body.actions_to_run ?? [],
    environment: body.environment ?? null,
    package_version: body.package_version ?? null,
  };
  return createExecution(
    deps.db,
    {
      pipeline_id: pipeline.id,
      priority,
      priority_rank: priorityRank(priority),
      triggered_on: origin.triggeredOn,
      refresh: body.refresh === true ? 1 : 0,
      clear_cache: body.clear_cache === true ? 1 : 0,
      comment: body.comment ?? null,
      branch: to.branch,
      tag: to.tag,
      revision: to.sha,
      from_revision: fromSha,
      commit_info: JSON.stringify(commit),
      from_commit_info: fromCommit ? JSON.stringify(fromCommit) : null,
      changeset: changeset ? JSON.stringify(changeset) : null,
      request: JSON.stringify(request),
      creator_id: creatorId,
      delay_until: delayUntil,
      environment_id: environmentId,
      package_version_id: pinned?.version.id ?? null,
      package_info: pinned ? JSON.stringify(pinned) : null,
    },
    actions.map((a) => ({
      id: newActionExecutionId(),
      action_id: a.id,
      position: a.position,
      status: 'ENQUEUED',
      progress: 0,
      start_date: null,
      finish_date: null,
      error_message: null,
      action_snapshot: JSON.stringify({
        name: a.name,
        type: a.type,
        settings: a.settings,
        sealedSecrets: a.sealedSecrets,
      }),
    })),
  );
}
