import type { ActionSecrets, ActionSettings, ActionType } from '../domain/action.ts';
import type { InlineVariable } from '../domain/pipeline.ts';
import { canTransition, type ExecutionStatus } from '../domain/status.ts';
import type { RegistryAuth } from '../runtime/container-runtime.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import { forgetOverwrittenValues, type Db } from '../store/database.ts';
import {
  getExecution,
  listActionExecutions,
  previousExecutionStatus,
  updateActionExecutionFields,
} from '../store/executions.ts';
import { getPipelineById } from '../store/pipelines.ts';
import { getProjectById } from '../store/projects.ts';
import type { ExecutionRow } from '../store/schema.ts';
import { now, parseJson } from '../store/time.ts';
import type { TransitionChange } from '../store/transition.ts';
import { isVariableEncrypted, updateVariable } from '../store/variables.ts';
import { moveFilesystem } from '../store/workers.ts';
import { getWorkspaceById } from '../store/workspaces.ts';
import { ExecutionVariables } from './execution-variables.ts';
import { resolveIntegrationAuth } from './integrations.ts';
import { runPermissionBlocker } from './run-permissions.ts';
import type { LogStore, LogWriter } from './log-store.ts';
import { pinnedPackageFiles } from './package-pin.ts';
import type { ProjectRepositories } from './project-repositories.ts';
import type { ExecutionRequest } from './run-request.ts';
import type { RunnerPeer, StepResult, Workload, WorkloadStep } from './runner-peer.ts';
import { STOP_REASONS } from './stop-reason.ts';

export interface LocalRunnerPeerDeps {
  db: Db;
  secrets: SecretBox;
  logs: LogStore;
  repositories: ProjectRepositories;
  dataDir: string;
  publicUrl: string;
  /** The store's one status transition, with the engine's hooks. */
  transition: (executionId: number, change: TransitionChange) => Promise<ExecutionRow | undefined>;
  /** Called after every write that changes what an execution looks like. */
  notify: (executionId: number) => void;
  /**
   * Recorded as the worker session of what this server's local runner claims, so that a server
   * restarting on the same data directory ends only its own interrupted runs, never those another
   * server on the same database is running.
   */
  localSession: string;
}

interface Snapshot {
  name: string;
  type: ActionType;
  settings: ActionSettings;
  sealedSecrets: string;
}

/** The runner port served in-process: every report is a store write through transition(). */
export class LocalRunnerPeer implements RunnerPeer {
  constructor(private readonly deps: LocalRunnerPeerDeps) {}

  claim(executionId: number): Promise<Workload | null> {
    return this.claimFor(executionId, null);
  }

  /**
   * The claim for a runner: this server's local runner (null) or a remote worker's session, recorded
   * on the execution in the same transition so that only that worker's reports are accepted for it.
   */
  async claimFor(
    executionId: number,
    runner: { worker: string; session: string } | null,
  ): Promise<Workload | null> {
    const { db, secrets } = this.deps;
    // A retried execution keeps its first start: its duration covers the first attempt and the retry,
    // while each retried action execution carries its own start and finish.
    const before = await getExecution(db, executionId);
    const firstStart = before?.start_date ?? null;
    // Going on after an approval: the filesystem is kept as the first part left it (unless it moved).
    const resumed = before?.resume_pending === 1;
    // Buddy's pipeline shows the run in progress while it runs: transition() puts it there.
    const e = await this.deps.transition(executionId, {
      execution: {
        from: ['ENQUEUED'],
        to: 'INPROGRESS',
        fields: {
          start_date: firstStart ?? now(),
          finish_date: null,
          error_message: null,
          worker: runner?.worker ?? null,
          worker_session: runner?.session ?? this.deps.localSession,
          claim_date: now(),
          wait_reason: null,
          resume_pending: 0,
        },
      },
    });
    this.deps.notify(executionId);
    if (!e) return null;
    const pipeline = await getPipelineById(db, e.pipeline_id);
    const project = pipeline && (await getProjectById(db, pipeline.projectId));
    const ws = project && (await getWorkspaceById(db, project.workspace_id));
    if (!pipeline || !project || !ws) {
      await this.done(executionId, 'FAILED', 'the pipeline was deleted');
      return null;
    }
    // Checked before any action runs: a retry after the pinned version was deleted must not half-run.
    // A remote worker fetches the files itself; this server only checks the version is still there.
    const pinned = await pinnedPackageFiles(db, this.deps.dataDir, e, runner === null);
    if (typeof pinned === 'string') {
      await this.done(executionId, 'FAILED', pinned);
      return null;
    }
    const request = parseJson<ExecutionRequest>(e.request);
    const rows = await listActionExecutions(db, [executionId]);
    const steps: WorkloadStep[] = rows.map((row) => {
      const snapshot = parseJson<Snapshot>(row.action_snapshot);
      return {
        id: row.id,
        actionId: row.action_id,
        position: row.position,
        name: snapshot.name,
        type: snapshot.type,
        settings: snapshot.settings,
        secrets: snapshot.sealedSecrets ? parseJson<ActionSecrets>(secrets.open(snapshot.sealedSecrets)) : {},
        status: row.status,
      };
    });
    // Checked against the user the run is attributed to before anything runs (see README, "Who a run
    // acts as"): an action someone else set up must not lend them an integration they are denied.
    const denied = await runPermissionBlocker(db, ws, project.id, e.creator_id, steps);
    if (denied !== null) {
      await this.done(executionId, 'FAILED', denied);
      return null;
    }
    const builtIns: Record<string, string> = {
      BUDDY_EXECUTION_ID: String(e.id),
      BUDDY_EXECUTION_REVISION: e.revision ?? '',
      BUDDY_EXECUTION_BRANCH: e.branch ?? '',
      BUDDY_EXECUTION_TAG: e.tag ?? '',
      BUDDY_EXECUTION_START_DATE: e.start_date ?? '',
      BUDDY_EXECUTION_REFRESH: String(e.refresh === 1),
      BUDDY_EXECUTION_CLEAR_CACHE: String(e.clear_cache === 1),
      BUDDY_EXECUTION_PRIORITY: e.priority,
      BUDDY_EXECUTION_COMMENT: e.comment ?? '',
      BUDDY_EXECUTION_URL: `${this.deps.publicUrl}/#/workspaces/${ws.domain}/projects/${project.name}/pipelines/${pipeline.id}/executions/${e.id}`,
      BUDDY_PIPELINE_ID: String(pipeline.id),
      BUDDY_PIPELINE_NAME: pipeline.name,
      BUDDY_PROJECT_NAME: project.name,
      BUDDY_WORKSPACE_DOMAIN: ws.domain,
      BUDDY_EXECUTION_REVISION_SUBJECT:
        (parseJson<{ message?: string } | null>(e.commit_info ?? 'null')?.message ?? '').split('\n')[0] ?? '',
    };
    const variables = await ExecutionVariables.load(
      db,
      secrets,
      { workspaceId: ws.id, projectId: project.id, environmentId: e.environment_id, pipelineId: pipeline.id },
      builtIns,
      pipeline.settings.variables,
      request.variables,
      steps.map((s) => ({ actionId: s.actionId, inline: s.settings.variables })),
    );
    for (const row of rows)
      if (row.status === 'SUCCESSFUL')
        variables.restoreOutputs(parseJson<InlineVariable[]>(row.outputted_variables));
    const moved = await moveFilesystem(db, pipeline.id, runner?.worker ?? '');
    return {
      executionId: e.id,
      pipelineId: pipeline.id,
      workspaceId: ws.id,
      projectId: project.id,
      projectName: project.name,
      revision: e.revision!,
      cleanCheckout:
        (!resumed && (e.refresh === 1 || pipeline.settings.always_from_scratch)) || moved !== null,
      resumed,
      clearCache: e.clear_cache === 1 || pipeline.settings.auto_clear_cache,
      changeset: parseJson<string[] | null>(e.changeset ?? 'null'),
      selected: request.actions_to_run.length > 0 ? request.actions_to_run : null,
      steps,
      variables,
      pinnedPackage: pinned?.pin ?? null,
      packageMount: pinned?.mount ?? null,
      notes: [...(moved ? [moved] : []), ...(pinned?.note ? [pinned.note] : [])],
    };
  }

  source(work: Workload): Promise<string> {
    return this.mirrorFor(work.projectId, work.revision);
  }

  /** The project's bare mirror, fetched up to `revision` when it lacks it. */
  async mirrorFor(projectId: number, revision: string): Promise<string> {
    const project = await getProjectById(this.deps.db, projectId);
    if (!project) throw new Error('the project was deleted');
    return this.deps.repositories.mirrorWith(project, revision);
  }

  async stepStarted(executionId: number, stepId: string, passed: InlineVariable[]): Promise<void> {
    await this.deps.transition(executionId, {
      actions: [
        {
          ids: [stepId],
          to: 'INPROGRESS',
          fields: {
            start_date: now(),
            finish_date: null,
            error_message: null,
            progress: 0,
            passed_variables: JSON.stringify(passed),
            outputted_variables: '[]',
          },
        },
      ],
    });
    this.deps.notify(executionId);
  }

  async stepEnded(executionId: number, stepId: string, r: StepResult): Promise<void> {
    await this.deps.transition(executionId, {
      actions: [
        {
          ids: [stepId],
          to: r.status,
          fields: {
            outputted_variables: JSON.stringify(r.outputs),
            finish_date: now(),
            error_message: r.error,
            progress: 100,
            log_lines: r.logLines,
            ...(r.status === 'TERMINATED' ? { termination_date: now() } : {}),
          },
        },
      ],
    });
    this.deps.notify(executionId);
  }

  async stepsSkipped(
    executionId: number,
    stepIds: string[],
    status: 'SKIPPED' | 'NOT_EXECUTED',
  ): Promise<void> {
    if (stepIds.length === 0) return;
    await this.deps.transition(executionId, {
      actions: [{ ids: stepIds, from: ['INITIAL', 'ENQUEUED'], to: status }],
    });
    this.deps.notify(executionId);
  }

  async containerChanged(stepId: string, containerId: string | null): Promise<void> {
    await updateActionExecutionFields(this.deps.db, stepId, { container_id: containerId });
  }

  openLog(stepId: string): LogWriter {
    return this.deps.logs.writer(stepId);
  }

  registryAuth(
    workspaceId: number,
    identifier: string,
    user: { projectId: number; pipelineId: number },
  ): Promise<RegistryAuth | null> {
    return resolveIntegrationAuth(this.deps.db, this.deps.secrets, workspaceId, identifier, user);
  }

  async updateSettable(
    _executionId: number,
    storedId: number,
    value: string,
    encrypted?: boolean,
  ): Promise<void> {
    // Only a switch leaves a clear value behind (and on PostgreSQL forgetting it rewrites the table).
    const switched = encrypted === true && !(await isVariableEncrypted(this.deps.db, storedId));
    await updateVariable(this.deps.db, storedId, encrypted === true ? { value, encrypted: 1 } : { value });
    if (switched) await forgetOverwrittenValues(this.deps.db);
  }

  async awaitApproval(executionId: number, stepId: string, question: string | null): Promise<boolean> {
    // The gate's log says what it asks; written here, on the server, for local and remote runs alike,
    // and whole (in the database too, with servers sharing PostgreSQL) before anyone can approve: an
    // approval through another server goes on after it.
    const log = this.deps.logs.writer(stepId);
    await log.line(`Waiting for approval${question ? `: ${question}` : ''}`);
    await log.line('Approve with the Approve button or PATCH .../executions/:id {"operation":"APPLY"}.');
    await log.close();
    const moved = await this.deps.transition(executionId, {
      execution: { from: ['INPROGRESS'], to: 'WAITING_FOR_APPLY' },
      actions: [
        {
          ids: [stepId],
          from: ['INITIAL', 'ENQUEUED'],
          to: 'WAITING_FOR_APPLY',
          fields: {
            start_date: now(),
            finish_date: null,
            error_message: null,
            progress: 0,
            log_lines: log.lines,
          },
        },
      ],
    });
    // A gate that never waited (the run was cancelled first) has no log.
    if (!moved) await this.deps.logs.remove([stepId]);
    this.deps.notify(executionId);
    return moved !== undefined;
  }

  async previousStatus(executionId: number): Promise<ExecutionStatus | null> {
    const e = await getExecution(this.deps.db, executionId);
    return e ? previousExecutionStatus(this.deps.db, e.pipeline_id, executionId) : null;
  }

  /**
   * Ends the execution and, in the same transaction, marks steps that never got their turn
   * NOT_EXECUTED. A run whose last action succeeded just as a cancel arrived ends TERMINATED: the user
   * asked for it to stop.
   */
  async done(
    executionId: number,
    status: 'SUCCESSFUL' | 'FAILED' | 'TERMINATED',
    error: string | null,
  ): Promise<void> {
    const pending = { from: ['INITIAL', 'ENQUEUED'], to: 'NOT_EXECUTED' } as const;
    const from = (['INPROGRESS', 'TERMINATING'] as const).filter((s) => canTransition(s, status));
    const moved = await this.deps.transition(executionId, {
      execution: { from, to: status, fields: { finish_date: now(), error_message: error } },
      actions: [pending],
    });
    if (!moved && status === 'SUCCESSFUL') {
      await this.deps.transition(executionId, {
        execution: {
          from: ['TERMINATING'],
          to: 'TERMINATED',
          fields: { finish_date: now(), error_message: STOP_REASONS.cancelled },
        },
        actions: [pending],
      });
    }
    this.deps.notify(executionId);
  }
}
