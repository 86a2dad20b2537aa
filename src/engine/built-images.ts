import { findBuildAction, type BuiltImageReference } from '../domain/action.ts';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import { builtImageRef } from './actions/build-image.ts';
import type { ActionOutcome } from './actions/run-docker-container.ts';
import type { WorkloadStep } from './runner-peer.ts';

/**
 * The images one execution makes: where a later action finds the image a DOCKERFILE action built,
 * and which images and tags to remove when the execution ends (unless do_not_prune_images).
 */
export class BuiltImages {
  private readonly made: string[] = [];

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly steps: readonly WorkloadStep[],
  ) {}

  track(ref: string): void {
    this.made.push(ref);
  }

  /** The image the DOCKERFILE action `ref` points at built for the step at `position`, or the failure saying why there is none. */
  imageFor(ref: BuiltImageReference, position: number): string | ActionOutcome {
    const candidates = this.steps.map((s) => ({
      id: s.actionId,
      name: s.name,
      type: s.type,
      position: s.position,
      step: s,
    }));
    const build = findBuildAction(candidates, ref, position);
    if (!build)
      return {
        status: 'FAILED',
        error: 'the DOCKERFILE action this action takes its image from is not in this execution',
      };
    if (build.step.status !== 'SUCCESSFUL') {
      return {
        status: 'FAILED',
        error: `action "${build.name}" did not build its image in this execution (it is ${build.step.status})`,
      };
    }
    return builtImageRef(build.step.id);
  }

  async prune(): Promise<void> {
    for (const ref of this.made.splice(0)) await this.runtime.removeImage(ref).catch(() => undefined);
  }
}
