import { Type } from '@sinclair/typebox';
import { DOCKERFILE_DEFAULTS, type DockerfileActionSettings } from '../../domain/action.ts';
import { staysInside } from '../../domain/paths.ts';
import { buildTags, runBuildAction } from '../actions/build-image.ts';
import type { ActionTypeHandler } from './action-type.ts';
import { Nullable, RegistryFields, Tag } from './fields.ts';

/** DOCKERFILE: build an image from a Dockerfile in the pipeline filesystem. */
export const dockerfile: ActionTypeHandler<DockerfileActionSettings> = {
  fields: {
    ...RegistryFields,
    dockerfile_path: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    context_path: Nullable(Type.String({ minLength: 1, maxLength: 1000 })),
    docker_image_tag: Type.Optional(Tag),
    build_args: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 10000 }), { maxItems: 100 })),
    target_platform: Nullable(Type.String({ maxLength: 64, pattern: '^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$' })),
    do_not_prune_images: Type.Optional(Type.Boolean()),
    insecure_registry: Type.Optional(Type.Boolean()),
  },
  required: ['dockerfile_path'],
  defaults: DOCKERFILE_DEFAULTS,

  check(s) {
    if (!staysInside(s.dockerfile_path))
      return `dockerfile_path "${s.dockerfile_path}" leaves the pipeline filesystem`;
    if (!staysInside(s.context_path))
      return `context_path "${s.context_path}" leaves the pipeline filesystem`;
    for (const arg of s.build_args)
      if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) return `build_args entry "${arg}" must be KEY=value`;
    return null;
  },

  run(s, ctx) {
    if (!s.do_not_prune_images)
      for (const tag of buildTags(s, ctx.actionExecutionId, ctx.variables)) ctx.trackImage(tag);
    return runBuildAction(s, {
      runtime: ctx.runtime,
      networkMode: ctx.networkMode,
      fs: ctx.fs,
      variables: ctx.variables,
      password: ctx.secrets.password,
      log: ctx.log,
      labels: ctx.labels,
      actionExecutionId: ctx.actionExecutionId,
      resolveIntegration: ctx.resolveIntegration,
    });
  },

  // The image is removed when the execution ends (unless kept), so a retry must build it again.
  rerunOnRetry: (s) => s.do_not_prune_images !== true,
};
