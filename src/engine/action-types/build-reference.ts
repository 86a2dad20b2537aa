import { findBuildAction, type BuiltImageReference } from '../../domain/action.ts';
import type { SaveContext } from './action-type.ts';

/** A reference to a DOCKERFILE action must name one that exists (id 0: one must stand earlier). */
export function checkBuildReference(ref: BuiltImageReference, ctx: SaveContext): string | null {
  if (findBuildAction(ctx.actions, ref, ctx.position)) return null;
  if (ref.docker_build_action_name !== null)
    return `docker_build_action_name "${ref.docker_build_action_name}" is not a DOCKERFILE action of this pipeline`;
  if (ref.docker_build_action_id !== null && ref.docker_build_action_id !== 0) {
    return `docker_build_action_id ${ref.docker_build_action_id} is not a DOCKERFILE action of this pipeline`;
  }
  return 'docker_build_action_id 0 takes the image of the nearest earlier DOCKERFILE action, and there is none before this one';
}
