import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import { secretMasker } from '../secrets/mask.ts';
import { conditionsHold } from './action-plan.ts';
import { runAction } from './action-types/registry.ts';
import type { ActionOutcome } from './actions/run-docker-container.ts';
import type { BackgroundCleanup } from './background-cleanup.ts';
import type { ActionPrepareContext } from './action-types/action-type.ts';
import type { BuiltImages } from './built-images.ts';
import type { EarlyContainers } from './early-containers.ts';
import type { ActionVariables } from './execution-variables.ts';
import { prepareOutputsDir } from './execution-variables.ts';
import type { PipelineFilesystem } from './pipeline-filesystem.ts';
import type { RunnerPeer, Workload, WorkloadStep } from './runner-peer.ts';
import { stopReason } from './stop-reason.ts';

/** What runs steps on this machine: the container engine and how containers are set up. */
export interface RunnerEnvironment {
  runtime: ContainerRuntime;
  networkMode: string;
  cancelGraceSeconds: number;
  dataDir: string;
  /** Label value that marks this runner's containers, so a sweep never touches another's. */
  instanceLabel: string;
}

/** The execution-wide things a step runs with. */
export interface StepScope {
  env: RunnerEnvironment;
  peer: RunnerPeer;
  work: Workload;
  fs: PipelineFilesystem;
  images: BuiltImages;
  signal: AbortSignal;
  /** What finished actions leave to clean up while the next ones run (containers, outputs directories). */
  cleanup: BackgroundCleanup;
  /** Containers of the first actions, made while the revision was checked out. */
  early: EarlyContainers;
}

/** The labels of a step's containers: a sweep finds them by instance, execution or action execution. */
export function containerLabels(
  env: RunnerEnvironment,
  work: Workload,
  step: WorkloadStep,
): Record<string, string> {
  return {
    'gantry.instance': env.instanceLabel,
    'gantry.execution': String(work.executionId),
    'gantry.action_execution': step.id,
    'gantry.pipeline': String(work.pipelineId),
  };
}

/**
 * What a step's container is made from, in this execution (its variables as they are now: outputs of
 * the actions before it included).
 */
export function containerSetup(
  scope: Pick<StepScope, 'env' | 'peer' | 'work' | 'fs' | 'signal'>,
  step: WorkloadStep,
  vars: ActionVariables,
  outputsDir: string,
): ActionPrepareContext {
  const { env, peer, work } = scope;
  return {
    runtime: env.runtime,
    networkMode: env.networkMode,
    fs: scope.fs,
    projectName: work.projectName,
    variables: vars.values,
    secrets: step.secrets,
    files: vars.files,
    outputsDir,
    signal: scope.signal,
    labels: containerLabels(env, work, step),
    packageMount: work.packageMount,
    onContainer: (id) => peer.containerChanged(step.id, id),
    resolveIntegration: (identifier) =>
      peer.registryAuth(work.workspaceId, identifier, {
        projectId: work.projectId,
        pipelineId: work.pipelineId,
      }),
  };
}

/**
 * Runs one step: decides whether it runs at all (actions_to_run, disabled, trigger conditions), then
 * runs it with its retries, masks what it logs, collects its outputs and reports its end. Returns
 * 'skipped' when it did not run; a failure is an outcome.
 */
export async function runStep(scope: StepScope, step: WorkloadStep): Promise<ActionOutcome | 'skipped'> {
  const { env, peer, work, signal } = scope;
  if (step.status === 'SUCCESSFUL') return { status: 'SUCCESSFUL', error: null };
  // Settled before an approval gate, in the first part of a run that goes on now: never run twice.
  if (step.status === 'SKIPPED' || step.status === 'NOT_EXECUTED') return 'skipped';
  if (step.status !== 'INITIAL' && step.status !== 'ENQUEUED')
    return { status: step.status === 'FAILED' ? 'FAILED' : 'TERMINATED', error: null };
  if (await isLeftOut(scope, step)) return 'skipped';
  const vars = work.variables.forAction(step.actionId);
  step.status = 'INPROGRESS';
  const early = scope.early.take(step.id);
  await peer.stepStarted(work.executionId, step.id, vars.passed);
  const outputsDir = (await early?.outputsDir) ?? (await prepareOutputsDir(env.dataDir, step.id));
  const log = peer.openLog(step.id);
  const mask = secretMasker(vars.secrets);
  log.setTransform(mask);
  for (const note of work.notes.splice(0)) await log.line(note);
  let outcome: ActionOutcome = { status: 'FAILED', error: 'not run' };
  try {
    for (let attempt = 0; attempt <= step.settings.retry_count; attempt += 1) {
      if (attempt > 0) {
        await log.line(
          `Retrying (${attempt}/${step.settings.retry_count}) in ${step.settings.retry_interval} s: ${outcome.error ?? ''}`,
        );
        await abortableSleep(step.settings.retry_interval * 1000, signal);
        if (signal.aborted) {
          outcome = { status: 'TERMINATED', error: stopReason(signal) };
          break;
        }
      }
      outcome = await runAction(step.type, step.settings, {
        ...containerSetup(scope, step, vars, outputsDir),
        cancelGraceSeconds: env.cancelGraceSeconds,
        actionExecutionId: step.id,
        log,
        forcePull: work.clearCache,
        afterward: (work) => scope.cleanup.add(work),
        builtImageFor: (ref) => scope.images.imageFor(ref, step.position),
        trackImage: (ref) => scope.images.track(ref),
        // Only the first attempt: a retry starts from scratch, as it always did.
        ...(attempt === 0 && early ? { prepared: early.container } : {}),
      });
      if (outcome.status !== 'FAILED') break;
    }
  } finally {
    // The attempt adopted it, or it goes (it never started) while the next action starts.
    if (early) scope.cleanup.add(() => early.discard());
    await log.close();
  }
  // Engine messages can quote substituted fields (an image tag made of a secret): mask them too.
  if (outcome.error !== null) outcome = { ...outcome, error: mask(outcome.error) };
  // Outputs of a successful action feed the next ones; a failed action's are discarded.
  const outputs =
    outcome.status === 'SUCCESSFUL'
      ? await work.variables.collectOutputs(
          path.join(outputsDir, 'outputs.env'),
          vars.merged,
          (id, value, encrypted) => peer.updateSettable(work.executionId, id, value, encrypted),
          (value) => mask.anyIn(value),
        )
      : [];
  // Read already; removed while the next action starts (it may hold whatever the container wrote there).
  scope.cleanup.add(() => rm(outputsDir, { recursive: true, force: true }));
  step.status = outcome.status;
  await peer.stepEnded(work.executionId, step.id, { ...outcome, outputs, logLines: log.lines });
  return outcome;
}

/**
 * Whether a step is left out of this execution (actions_to_run, disabled, its trigger conditions); a
 * step left out is reported SKIPPED.
 */
export async function isLeftOut(scope: StepScope, step: WorkloadStep): Promise<boolean> {
  const { peer, work } = scope;
  if (leftOut(work, step)) {
    step.status = 'SKIPPED';
    await peer.stepsSkipped(work.executionId, [step.id], 'SKIPPED');
    return true;
  }
  return false;
}

/** Whether `step` is left out of the execution (actions_to_run, disabled, its trigger conditions). */
export function leftOut(work: Workload, step: WorkloadStep): boolean {
  const vars = work.variables.forAction(step.actionId);
  return (
    (work.selected !== null && !work.selected.includes(step.actionId)) ||
    step.settings.disabled ||
    !conditionsHold(step.settings.trigger_conditions, work.changeset, vars.values)
  );
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
