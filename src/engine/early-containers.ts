import { rm } from 'node:fs/promises';
import type { PreparedContainer } from './actions/run-docker-container.ts';
import { parallelGroups } from './action-plan.ts';
import { containerSetup, leftOut, type StepScope } from './action-step.ts';
import { actionType, isGate } from './action-types/registry.ts';
import { prepareOutputsDir } from './execution-variables.ts';
import type { Workload, WorkloadStep } from './runner-peer.ts';

/** A step's container made ahead of its turn, and the outputs directory made for it first. */
export interface EarlyContainer {
  /** Null when it could not be made (the step makes it then). */
  outputsDir: Promise<string | null>;
  /** Null when it could not be made (the step's attempt makes its container itself). */
  container: Promise<PreparedContainer | null>;
  /** Removes the container unless the step's attempt adopted it. */
  discard(): Promise<void>;
}

/**
 * The containers of the first actions an execution will run, made (created, files placed, attached)
 * while the runner checks the revision out, so that the first action's turn only starts its container:
 * Docker's create call alone took longer than the checkout. Everything a container is made from is
 * known once the execution is claimed (variables, secrets, built-ins), except what the work tree holds,
 * which is why volume mappings are never made early (see prepareContainer); an attempt uses the
 * container only when it would have made exactly the same one. The runner discards what was not used
 * before it reports the end (a cancel, a failed checkout), and a crash leaves only containers that never
 * started, which the start-up sweep removes by their instance label.
 */
export class EarlyContainers {
  private readonly made = new Map<string, EarlyContainer & { taken: boolean }>();

  constructor(private readonly scope: Pick<StepScope, 'env' | 'peer' | 'work' | 'fs' | 'signal'>) {}

  /** Starts making the containers of the first group of actions that will run; returns at once. */
  begin(): void {
    const { env, work, signal } = this.scope;
    // clear_cache pulls every image again first, and a pull writes to the action's log.
    if (signal.aborted || work.clearCache) return;
    for (const step of firstStepsToRun(work)) {
      const handler = actionType(step.type);
      if (!handler.prepare || leftOut(work, step)) continue;
      const vars = work.variables.forAction(step.actionId);
      const outputsDir = prepareOutputsDir(env.dataDir, step.id).catch(() => null);
      const container = outputsDir
        .then((dir) =>
          dir === null ? null : handler.prepare!(step.settings, containerSetup(this.scope, step, vars, dir)),
        )
        .catch(() => null);
      this.made.set(step.id, {
        taken: false,
        outputsDir,
        container,
        discard: async () => {
          await (await container)?.discard();
        },
      });
    }
  }

  /**
   * The early container of `stepId`, now the step's: its attempt adopts it or the step discards it (its
   * outputs directory is the step's as well). Undefined when none was made.
   */
  take(stepId: string): EarlyContainer | undefined {
    const early = this.made.get(stepId);
    if (early) early.taken = true;
    return early;
  }

  /**
   * Removes every container that was not adopted, whatever stopped its step short of that (an error on
   * the way included), and the outputs directories of steps whose turn never came.
   */
  async discardRest(): Promise<void> {
    const all = [...this.made.values()];
    this.made.clear();
    await Promise.all(
      all.map(async (early) => {
        await early.discard();
        const dir = await early.outputsDir;
        if (!early.taken && dir !== null) await rm(dir, { recursive: true, force: true });
      }),
    );
  }
}

/**
 * The steps of the first group of main actions that will run, as runMainPhase walks the groups (a
 * retried or resumed run passes what is settled); none when an approval gate comes first.
 */
function firstStepsToRun(work: Workload): WorkloadStep[] {
  const groups = parallelGroups(
    work.steps.filter((s) => s.settings.trigger_time === 'ON_EVERY_EXECUTION'),
    (s) => isGate(s.type),
  );
  for (const group of groups) {
    const first = group[0]!;
    if (isGate(first.type)) {
      if (first.status === 'SUCCESSFUL' || first.status === 'SKIPPED') continue;
      return [];
    }
    const pending = group.filter((s) => s.status === 'INITIAL' || s.status === 'ENQUEUED');
    if (pending.length > 0) return pending;
    // A settled failure ends the main phase there.
    if (group.some((s) => !['SUCCESSFUL', 'SKIPPED', 'NOT_EXECUTED'].includes(s.status))) return [];
  }
  return [];
}
