import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  findBuildAction,
  type ActionSecrets,
  type ActionSettings,
  type BuiltImageReference,
  type ContainerActionSettings,
  type DockerfileActionSettings,
  type DockerPushActionSettings,
} from '../domain/action.ts';
import type { InlineVariable } from '../domain/pipeline.ts';
import { canTransition, type ActionExecutionStatus, type ExecutionStatus } from '../domain/status.ts';
import { checkout } from '../repo/index.ts';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { Db } from '../store/database.ts';
import {
  getExecution,
  listActionExecutions,
  previousExecutionStatus,
  updateActionExecutionFields,
} from '../store/executions.ts';
import type { ActionExecutionFields, TransitionChange } from '../store/transition.ts';
import { getPipelineById } from '../store/pipelines.ts';
import { getProjectById } from '../store/projects.ts';
import type { ActionExecutionRow, ExecutionRow } from '../store/schema.ts';
import { now, parseJson } from '../store/time.ts';
import { getWorkspaceById } from '../store/workspaces.ts';
import { conditionsHold, parallelGroups, runsInFinalPhase, type PlannedAction } from './action-plan.ts';
import { runContainerAction, type ActionOutcome } from './actions/run-docker-container.ts';
import { ExecutionVariables, prepareOutputsDir } from './execution-variables.ts';
import type { LogStore, LogWriter } from './log-store.ts';
import { builtImageRef, buildTags, runBuildAction } from './actions/build-image.ts';
import { runPushAction } from './actions/push-image.ts';
import type { ResolvedVariable } from './variable-scope.ts';
import { secretMasker } from '../secrets/mask.ts';
import { PipelineFilesystem } from './pipeline-filesystem.ts';
import type { ProjectRepositories } from './project-repositories.ts';
import type { ExecutionRequest } from './run-request.ts';
import { STOP_REASONS, stopReason } from './stop-reason.ts';
import { resolveIntegrationAuth } from './integrations.ts';
import { pinnedPackageMount } from './package-pin.ts';

export interface RunnerDeps {
  db: Db;
  runtime: ContainerRuntime;
  repositories: ProjectRepositories;
  logs: LogStore;
  secrets: SecretBox;
  dataDir: string;
  networkMode: string;
  cancelGraceSeconds: number;
  instanceLabel: string;
  publicUrl: string;
  logger: Logger;
  notify: (executionId: number) => void;
  /** The store's one status transition (with the engine's hooks). */
  transition: (executionId: number, change: TransitionChange) => Promise<ExecutionRow | undefined>;
}

interface Snapshot {
  name: string;
  type: string;
  settings: ActionSettings;
  sealedSecrets: string;
}

type Planned = PlannedAction & { row: ActionExecutionRow; snapshot: Snapshot };

/**
 * Runs one execution from ENQUEUED to a final status. Actions that fail are data: each action
 * execution ends with a status and an error message; only infrastructure faults throw.
 */
export async function runExecution(
  deps: RunnerDeps,
  executionId: number,
  signal: AbortSignal,
): Promise<void> {
  const { db } = deps;
  // Buddy's pipeline shows the run in progress, not the previous run's result, while it runs (transition() does).
  const started = await deps.transition(executionId, {
    execution: {
      from: ['ENQUEUED'],
      to: 'INPROGRESS',
      fields: { start_date: now(), finish_date: null, error_message: null },
    },
  });
  deps.notify(executionId);
  if (!started) return;
  const pipeline = await getPipelineById(db, started.pipeline_id);
  const project = pipeline && (await getProjectById(db, pipeline.projectId));
  const ws = project && (await getWorkspaceById(db, project.workspace_id));
  if (!pipeline || !project || !ws) {
    await finish(deps, started, 'FAILED', 'the pipeline was deleted');
    return;
  }
  const request = parseJson<ExecutionRequest>(started.request);
  const fs = new PipelineFilesystem(deps.dataDir, pipeline.id);
  const actionRows = await listActionExecutions(db, [executionId]);
  const planned: Planned[] = actionRows.map((row) => {
    const snapshot = parseJson<Snapshot>(row.action_snapshot);
    return {
      id: row.id,
      actionId: row.action_id,
      settings: snapshot.settings,
      status: row.status,
      row,
      snapshot,
    };
  });

  const builtIns: Record<string, string> = {
    BUDDY_EXECUTION_ID: String(started.id),
    BUDDY_EXECUTION_REVISION: started.revision ?? '',
    BUDDY_EXECUTION_BRANCH: started.branch ?? '',
    BUDDY_EXECUTION_TAG: started.tag ?? '',
    BUDDY_EXECUTION_START_DATE: started.start_date ?? '',
    BUDDY_EXECUTION_REFRESH: String(started.refresh === 1),
    BUDDY_EXECUTION_CLEAR_CACHE: String(started.clear_cache === 1),
    BUDDY_EXECUTION_PRIORITY: started.priority,
    BUDDY_EXECUTION_COMMENT: started.comment ?? '',
    BUDDY_EXECUTION_URL: `${deps.publicUrl}/#/workspaces/${ws.domain}/projects/${project.name}/pipelines/${pipeline.id}/executions/${started.id}`,
    BUDDY_PIPELINE_ID: String(pipeline.id),
    BUDDY_PIPELINE_NAME: pipeline.name,
    BUDDY_PROJECT_NAME: project.name,
    BUDDY_WORKSPACE_DOMAIN: ws.domain,
    BUDDY_EXECUTION_REVISION_SUBJECT:
      (parseJson<{ message?: string } | null>(started.commit_info ?? 'null')?.message ?? '').split('\n')[0] ??
      '',
  };
  const variables = await ExecutionVariables.load(
    db,
    deps.secrets,
    {
      workspaceId: ws.id,
      projectId: project.id,
      environmentId: started.environment_id,
      pipelineId: pipeline.id,
    },
    builtIns,
    pipeline.settings.variables,
    request.variables,
  );
  for (const row of actionRows)
    if (row.status === 'SUCCESSFUL')
      variables.restoreOutputs(parseJson<InlineVariable[]>(row.outputted_variables));

  // Checked before any action runs: a retry after the pinned version was deleted must not half-run.
  const packageMount = await pinnedPackageMount(deps.dataDir, started);
  if (typeof packageMount === 'string') {
    await skipRemaining(deps, executionId, planned, 'NOT_EXECUTED');
    await finish(deps, started, 'FAILED', packageMount);
    return;
  }
  try {
    await fs.ensure();
    if (started.clear_cache === 1 || pipeline.settings.auto_clear_cache) await fs.clearCache();
    const mirror = await deps.repositories.mirrorWith(project, started.revision!);
    await checkout({
      mirrorPath: mirror,
      sha: started.revision!,
      workTree: fs.workTree,
      indexFile: fs.indexFile,
      clean: started.refresh === 1 || pipeline.settings.always_from_scratch,
      signal,
    });
  } catch (err) {
    await skipRemaining(deps, executionId, planned, 'NOT_EXECUTED');
    await finish(
      deps,
      started,
      signal.aborted ? 'TERMINATED' : 'FAILED',
      `preparing the pipeline filesystem failed: ${(err as Error).message}`,
    );
    return;
  }

  const changed = parseJson<string[] | null>(started.changeset ?? 'null');
  const selected = request.actions_to_run.length > 0 ? new Set(request.actions_to_run) : null;

  /** Images and tags this execution made, removed when it ends (unless do_not_prune_images). */
  const builtImages: string[] = [];
  const pruneBuiltImages = async (): Promise<void> => {
    for (const ref of builtImages.splice(0)) await deps.runtime.removeImage(ref).catch(() => undefined);
  };

  const labelsOf = (a: Planned): Record<string, string> => ({
    'gantry.instance': deps.instanceLabel,
    'gantry.execution': String(executionId),
    'gantry.action_execution': a.id,
    'gantry.pipeline': String(pipeline.id),
  });
  const resolveIntegration = (identifier: string) =>
    resolveIntegrationAuth(db, deps.secrets, ws.id, identifier);

  /** The image a DOCKERFILE action of this execution built for `a`, or the failure explaining why there is none. */
  const builtImageFor = (a: Planned, ref: BuiltImageReference): string | ActionOutcome => {
    const candidates = planned.map((p) => ({
      id: p.actionId,
      name: p.snapshot.name,
      type: p.snapshot.type,
      position: p.row.position,
      planned: p,
    }));
    const build = findBuildAction(candidates, ref, a.row.position);
    if (!build)
      return {
        status: 'FAILED',
        error: 'the DOCKERFILE action this action takes its image from is not in this execution',
      };
    if (build.planned.status !== 'SUCCESSFUL') {
      return {
        status: 'FAILED',
        error: `action "${build.name}" did not build its image in this execution (it is ${build.planned.status})`,
      };
    }
    return builtImageRef(build.planned.id);
  };

  /** One attempt of an action, by its type. */
  const attemptAction = async (
    a: Planned,
    log: LogWriter,
    secrets: ActionSecrets,
    values: Map<string, string>,
    files: ResolvedVariable[],
    outputsDir: string,
  ): Promise<ActionOutcome> => {
    if (a.snapshot.type === 'DOCKERFILE') {
      const s = a.settings as DockerfileActionSettings;
      builtImages.push(...(s.do_not_prune_images ? [] : buildTags(s, a.id, values)));
      return runBuildAction(s, {
        runtime: deps.runtime,
        networkMode: deps.networkMode,
        fs,
        variables: values,
        password: secrets.password,
        log,
        labels: labelsOf(a),
        actionExecutionId: a.id,
        resolveIntegration,
      });
    }
    if (a.snapshot.type === 'DOCKER_PUSH') {
      const s = a.settings as DockerPushActionSettings;
      const source = builtImageFor(a, s);
      if (typeof source !== 'string') return source;
      return runPushAction(s, {
        runtime: deps.runtime,
        variables: values,
        password: secrets.password,
        log,
        sourceImage: source,
        resolveIntegration,
        onTagged: (t) => builtImages.push(t),
      });
    }
    const settings = a.settings as ContainerActionSettings;
    let builtImage: string | undefined;
    if (settings.use_image_from_action || settings.image_location === 'ACTION') {
      const source = builtImageFor(a, {
        docker_build_action_id: settings.docker_build_action_id ?? 0,
        docker_build_action_name: settings.docker_build_action_name,
      });
      if (typeof source !== 'string') return source;
      builtImage = source;
    }
    return runContainerAction(settings, {
      runtime: deps.runtime,
      networkMode: deps.networkMode,
      cancelGraceSeconds: deps.cancelGraceSeconds,
      fs,
      projectName: project.name,
      variables: values,
      secrets,
      log,
      signal,
      labels: labelsOf(a),
      forcePull: started.clear_cache === 1 || pipeline.settings.auto_clear_cache,
      onContainer: (id) => updateActionExecutionFields(db, a.id, { container_id: id }),
      files,
      outputsDir,
      packageMount,
      resolveIntegration,
      ...(builtImage !== undefined ? { builtImage } : {}),
    });
  };

  const runOne = async (a: Planned): Promise<ActionOutcome | 'skipped'> => {
    if (a.status === 'SUCCESSFUL') return { status: 'SUCCESSFUL', error: null };
    const vars = await variables.forAction(a.actionId, a.settings.variables);
    const values = vars.values;
    if (
      (selected && !selected.has(a.actionId)) ||
      a.settings.disabled ||
      !conditionsHold(a.settings.trigger_conditions, changed, values)
    ) {
      await setStatus(deps, executionId, a, 'SKIPPED', {});
      return 'skipped';
    }
    await setStatus(deps, executionId, a, 'INPROGRESS', {
      start_date: now(),
      finish_date: null,
      error_message: null,
      progress: 0,
      passed_variables: JSON.stringify(vars.passed),
      outputted_variables: '[]',
    });
    const outputsDir = await prepareOutputsDir(deps.dataDir, a.id);
    const log = deps.logs.writer(a.id);
    const mask = secretMasker(vars.secrets);
    log.setTransform(mask);
    const secrets: ActionSecrets = a.snapshot.sealedSecrets
      ? parseJson<ActionSecrets>(deps.secrets.open(a.snapshot.sealedSecrets))
      : {};
    let outcome: ActionOutcome = { status: 'FAILED', error: 'not run' };
    try {
      for (let attempt = 0; attempt <= a.settings.retry_count; attempt += 1) {
        if (attempt > 0) {
          await log.line(
            `Retrying (${attempt}/${a.settings.retry_count}) in ${a.settings.retry_interval} s: ${outcome.error ?? ''}`,
          );
          await abortableSleep(a.settings.retry_interval * 1000, signal);
          if (signal.aborted) {
            outcome = { status: 'TERMINATED', error: stopReason(signal) };
            break;
          }
        }
        outcome = await attemptAction(a, log, secrets, values, vars.files, outputsDir);
        if (outcome.status !== 'FAILED') break;
      }
    } finally {
      await log.close();
      await updateActionExecutionFields(db, a.id, { log_lines: log.lines });
    }
    // Engine messages can quote substituted fields (an image tag made of a secret): mask them too.
    if (outcome.error !== null) outcome = { ...outcome, error: mask(outcome.error) };
    // Outputs of a successful action feed the next ones; a failed action's are discarded.
    const outputs =
      outcome.status === 'SUCCESSFUL'
        ? await variables.collectOutputs(path.join(outputsDir, 'outputs.env'), vars.merged)
        : [];
    await rm(outputsDir, { recursive: true, force: true });
    await setStatus(deps, executionId, a, outcome.status, {
      outputted_variables: JSON.stringify(outputs),
      finish_date: now(),
      error_message: outcome.error,
      progress: 100,
      ...(outcome.status === 'TERMINATED' ? { termination_date: now() } : {}),
    });
    return outcome;
  };

  const main = planned.filter((a) => a.settings.trigger_time === 'ON_EVERY_EXECUTION');
  const final = planned.filter((a) => a.settings.trigger_time !== 'ON_EVERY_EXECUTION');
  let failed: string | null = null;
  let terminated = false;
  for (const [index, group] of parallelGroups(main).entries()) {
    if (signal.aborted) terminated = true;
    if (failed !== null || terminated) {
      await skipRemaining(deps, executionId, parallelGroups(main).slice(index).flat(), 'NOT_EXECUTED');
      break;
    }
    const outcomes = await Promise.all(group.map(runOne));
    for (const [i, o] of outcomes.entries()) {
      if (o === 'skipped') continue;
      if (o.status === 'TERMINATED') terminated = true;
      else if (o.status === 'FAILED' && !group[i]!.settings.ignore_errors)
        failed ??= `action "${group[i]!.snapshot.name}" failed: ${o.error}`;
    }
  }
  if (terminated) {
    await skipRemaining(deps, executionId, final, 'NOT_EXECUTED');
    await pruneBuiltImages();
    await finish(deps, started, 'TERMINATED', stopReason(signal));
    return;
  }
  const previous = await previousExecutionStatus(db, pipeline.id, executionId);
  for (const a of final) {
    if (signal.aborted) break;
    if (!runsInFinalPhase(a.settings.trigger_time, failed === null, previous)) {
      await setStatus(deps, executionId, a, 'SKIPPED', {});
      continue;
    }
    const o = await runOne(a);
    if (o !== 'skipped' && o.status === 'FAILED' && !a.settings.ignore_errors)
      failed ??= `action "${a.snapshot.name}" failed: ${o.error}`;
  }
  if (signal.aborted) {
    await skipRemaining(deps, executionId, final, 'NOT_EXECUTED');
    await pruneBuiltImages();
    await finish(deps, started, 'TERMINATED', stopReason(signal));
    return;
  }
  await pruneBuiltImages();
  await finish(deps, started, failed === null ? 'SUCCESSFUL' : 'FAILED', failed);
}

async function setStatus(
  deps: RunnerDeps,
  executionId: number,
  a: Planned,
  status: ActionExecutionStatus,
  fields: ActionExecutionFields,
): Promise<void> {
  a.status = status;
  await deps.transition(executionId, { actions: [{ ids: [a.id], to: status, fields }] });
  deps.notify(executionId);
}

async function skipRemaining(
  deps: RunnerDeps,
  executionId: number,
  actions: readonly Planned[],
  status: ActionExecutionStatus,
): Promise<void> {
  const pending = actions.filter((a) => a.status === 'INITIAL' || a.status === 'ENQUEUED');
  if (pending.length === 0) return;
  for (const a of pending) a.status = status;
  await deps.transition(executionId, {
    actions: [{ ids: pending.map((a) => a.id), from: ['INITIAL', 'ENQUEUED'], to: status }],
  });
  deps.notify(executionId);
}

/**
 * Ends the execution and, in the same transaction, marks actions that never got their turn
 * NOT_EXECUTED. A run whose last action succeeded just as a cancel arrived ends TERMINATED: the user
 * asked for it to stop.
 */
async function finish(
  deps: RunnerDeps,
  e: ExecutionRow,
  status: ExecutionStatus,
  error: string | null,
): Promise<void> {
  const pending = { from: ['INITIAL', 'ENQUEUED'], to: 'NOT_EXECUTED' } as const;
  const from = (['INPROGRESS', 'TERMINATING'] as const).filter((s) => canTransition(s, status));
  const moved =
    (await deps.transition(e.id, {
      execution: { from, to: status, fields: { finish_date: now(), error_message: error } },
      actions: [pending],
    })) ??
    (status === 'SUCCESSFUL'
      ? await deps.transition(e.id, {
          execution: {
            from: ['TERMINATING'],
            to: 'TERMINATED',
            fields: { finish_date: now(), error_message: STOP_REASONS.cancelled },
          },
          actions: [pending],
        })
      : undefined);
  deps.notify(e.id);
  const current = moved ?? (await getExecution(deps.db, e.id));
  deps.logger.info({ execution: e.id, status: current?.status }, 'execution finished');
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
