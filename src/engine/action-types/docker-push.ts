import { Type } from '@sinclair/typebox';
import { DOCKER_PUSH_DEFAULTS, type DockerPushActionSettings } from '../../domain/action.ts';
import { runPushAction } from '../actions/push-image.ts';
import type { ActionTypeHandler } from './action-type.ts';
import { checkBuildReference } from './build-reference.ts';
import { Nullable, RegistryFields, ShortString, Tag } from './fields.ts';

/** DOCKER_PUSH: push an image a DOCKERFILE action of the same execution built. */
export const dockerPush: ActionTypeHandler<DockerPushActionSettings> = {
  fields: {
    ...RegistryFields,
    docker_image_tag: Type.Optional(Tag),
    docker_build_action_id: Nullable(Type.Integer({ minimum: 0 })),
    docker_build_action_name: Nullable(ShortString),
  },
  required: ['repository'],
  defaults: DOCKER_PUSH_DEFAULTS,

  check: (s, ctx) => checkBuildReference(s, ctx),

  async run(s, ctx) {
    const source = ctx.builtImageFor(s);
    if (typeof source !== 'string') return source;
    return runPushAction(s, {
      runtime: ctx.runtime,
      variables: ctx.variables,
      password: ctx.secrets.password,
      log: ctx.log,
      sourceImage: source,
      resolveIntegration: ctx.resolveIntegration,
      onTagged: ctx.trackImage,
    });
  },

  rerunOnRetry: () => false,
};
