import { substitute } from '../domain/variables.ts';
import { checkout } from '../repo/index.ts';
import { secretMasker } from '../secrets/mask.ts';
import { parallelGroups, runsInFinalPhase } from './action-plan.ts';
import { isLeftOut, runStep, type RunnerEnvironment, type StepScope } from './action-step.ts';
import { isGate } from './action-types/registry.ts';
import { BackgroundCleanup } from './background-cleanup.ts';
import { BuiltImages } from './built-images.ts';
import { EarlyContainers } from './early-containers.ts';
import { PipelineFilesystem } from './pipeline-filesystem.ts';
import type { RunnerPeer, Workload, WorkloadStep } from './runner-peer.ts';
import { stopReason } from './stop-reason.ts';

/**
 * Runs one execution from ENQUEUED to a final status through `peer`: claims it, prepares the
 * pipeline filesystem, runs the main phase (groups of parallel actions, stopping at the first
 * failure), then the final phase (ON_SUCCESS / ON_FAILURE / ON_BACK_TO_SUCCESS actions), and reports
 * the end. At an approval gate (WAIT_FOR_APPLY) it stops instead: the execution waits
 * (WAITING_FOR_APPLY) holding no runner, and an APPLY queues it again for a runner to go on after the
 * gate. Actions that fail are data; only infrastructure faults throw.
 */
export async function runExecution(
  env: RunnerEnvironment,
  peer: RunnerPeer,
  executionId: number,
  signal: AbortSignal,
): Promise<void> {
  const work = await peer.claim(executionId);
  if (!work) return;
  const fs = new PipelineFilesystem(env.dataDir, work.pipelineId);
  const early = new EarlyContainers({ env, peer, work, fs, signal });
  const prepared = await prepareFilesystem(peer, work, fs, signal, () => early.begin());
  if (prepared !== null) {
    await early.discardRest();
    await peer.done(executionId, signal.aborted ? 'TERMINATED' : 'FAILED', prepared);
    return;
  }
  const images = new BuiltImages(env.runtime, work.steps);
  const cleanup = new BackgroundCleanup();
  const scope: StepScope = { env, peer, work, fs, images, signal, cleanup, early };
  let end: { status: 'SUCCESSFUL' | 'FAILED' | 'TERMINATED'; error: string | null } | null;
  try {
    const main = await runMainPhase(scope);
    // Waiting for an approval: nothing more to report; the images go as at an end (a resumed run rebuilds).
    if (main.waiting) end = null;
    else if (main.terminated || signal.aborted) end = { status: 'TERMINATED', error: stopReason(signal) };
    else {
      const failed = await runFinalPhase(scope, main.failed);
      if (signal.aborted) end = { status: 'TERMINATED', error: stopReason(signal) };
      else end = { status: failed === null ? 'SUCCESSFUL' : 'FAILED', error: failed };
    }
  } finally {
    // Before the end is reported: whoever sees the final status sees the containers and images gone.
    await early.discardRest();
    await cleanup.settled();
    await images.prune();
  }
  if (end !== null) await peer.done(executionId, end.status, end.error);
}

/**
 * Creates the pipeline filesystem and checks the revision out into it, calling `ensured` once the
 * directories exist (the checkout still runs); returns the failure message, or null.
 */
async function prepareFilesystem(
  peer: RunnerPeer,
  work: Workload,
  fs: PipelineFilesystem,
  signal: AbortSignal,
  ensured: () => void,
): Promise<string | null> {
  try {
    fs.ensure();
    ensured();
    // Going on after an approval: the filesystem stays as the actions before the gate left it.
    if (work.resumed && !work.cleanCheckout) return null;
    if (work.clearCache && !work.resumed) await fs.clearCache();
    await checkout({
      mirrorPath: await peer.source(work),
      sha: work.revision,
      workTree: fs.workTree,
      indexFile: fs.indexFile,
      clean: work.cleanCheckout,
      signal,
    });
    return null;
  } catch (err) {
    return `preparing the pipeline filesystem failed: ${(err as Error).message}`;
  }
}

function failureOf(step: WorkloadStep, error: string | null): string {
  return `action "${step.name}" failed: ${error}`;
}

/**
 * ON_EVERY_EXECUTION actions, group by group: a group runs in parallel; after a failure (not ignored)
 * or a cancel, the remaining groups are NOT_EXECUTED. An approval gate is a group of its own; reaching
 * one that is not approved yet ends the phase with `waiting`.
 */
async function runMainPhase(
  scope: StepScope,
): Promise<{ failed: string | null; terminated: boolean; waiting: boolean }> {
  const { peer, work, signal } = scope;
  const groups = parallelGroups(
    work.steps.filter((s) => s.settings.trigger_time === 'ON_EVERY_EXECUTION'),
    (s) => isGate(s.type),
  );
  let failed: string | null = null;
  let terminated = false;
  for (const [index, group] of groups.entries()) {
    if (signal.aborted) terminated = true;
    if (failed !== null || terminated) {
      await skip(peer, work, groups.slice(index).flat());
      break;
    }
    const gate = group[0]!;
    if (isGate(gate.type)) {
      const reached = await reachGate(scope, gate);
      if (reached === 'waiting') return { failed, terminated, waiting: true };
      if (reached === 'terminated') terminated = true;
      else if (reached !== 'passed') failed = reached.failed;
      continue;
    }
    const outcomes = await Promise.all(group.map((s) => runStep(scope, s)));
    for (const [i, o] of outcomes.entries()) {
      if (o === 'skipped') continue;
      if (o.status === 'TERMINATED') terminated = true;
      else if (o.status === 'FAILED' && !group[i]!.settings.ignore_errors)
        failed ??= failureOf(group[i]!, o.error);
    }
  }
  return { failed, terminated, waiting: false };
}

/**
 * The run reaches an approval gate. An approved gate (the run goes on after an APPLY) or one left out
 * (disabled, conditions, actions_to_run) is passed. Otherwise the ON_WAIT_FOR_APPROVE actions run
 * first (once per execution); if none of them fails, the execution waits for an approval.
 */
async function reachGate(
  scope: StepScope,
  gate: WorkloadStep,
): Promise<'passed' | 'waiting' | 'terminated' | { failed: string }> {
  const { peer, work, signal } = scope;
  if (gate.status === 'SUCCESSFUL' || gate.status === 'SKIPPED') return 'passed';
  if (await isLeftOut(scope, gate)) return 'passed';
  for (const step of work.steps.filter((s) => s.settings.trigger_time === 'ON_WAIT_FOR_APPROVE')) {
    if (step.status !== 'INITIAL' && step.status !== 'ENQUEUED') continue;
    if (signal.aborted) break;
    const o = await runStep(scope, step);
    if (o === 'skipped' || o.status === 'SUCCESSFUL') continue;
    if (o.status === 'TERMINATED') break;
    if (!step.settings.ignore_errors) {
      await skip(peer, work, [gate]);
      return { failed: failureOf(step, o.error) };
    }
  }
  if (signal.aborted) return 'terminated';
  const vars = work.variables.forAction(gate.actionId);
  const comment = 'comment' in gate.settings ? gate.settings.comment : null;
  const question = comment === null ? null : secretMasker(vars.secrets)(substitute(comment, vars.values));
  if (!(await peer.awaitApproval(work.executionId, gate.id, question))) return 'terminated';
  gate.status = 'WAITING_FOR_APPLY';
  return 'waiting';
}

/** Actions that run after the main phase, by their trigger time and how the main phase (and the previous run) ended. */
async function runFinalPhase(scope: StepScope, mainFailure: string | null): Promise<string | null> {
  const { peer, work, signal } = scope;
  let failed = mainFailure;
  const previous = await peer.previousStatus(work.executionId);
  for (const step of work.steps.filter((s) => s.settings.trigger_time !== 'ON_EVERY_EXECUTION')) {
    if (signal.aborted) break;
    // Settled already: an ON_WAIT_FOR_APPROVE action that ran at a gate, or anything before an approval.
    if (step.status !== 'INITIAL' && step.status !== 'ENQUEUED') continue;
    if (!runsInFinalPhase(step.settings.trigger_time, failed === null, previous)) {
      step.status = 'SKIPPED';
      await peer.stepsSkipped(work.executionId, [step.id], 'SKIPPED');
      continue;
    }
    const o = await runStep(scope, step);
    if (o !== 'skipped' && o.status === 'FAILED' && !step.settings.ignore_errors)
      failed ??= failureOf(step, o.error);
  }
  return failed;
}

async function skip(peer: RunnerPeer, work: Workload, steps: readonly WorkloadStep[]): Promise<void> {
  const pending = steps.filter((s) => s.status === 'INITIAL' || s.status === 'ENQUEUED');
  for (const s of pending) s.status = 'NOT_EXECUTED';
  await peer.stepsSkipped(
    work.executionId,
    pending.map((s) => s.id),
    'NOT_EXECUTED',
  );
}
