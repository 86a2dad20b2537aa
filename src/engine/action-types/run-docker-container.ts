import { Type } from '@sinclair/typebox';
import { DOCKER_CONTAINER_DEFAULTS, type ContainerActionSettings } from '../../domain/action.ts';
import { containerMountPathProblem, parseVolumeMapping, staysInside } from '../../domain/paths.ts';
import { prepareContainer, runContainerAction } from '../actions/run-docker-container.ts';
import type { ActionTypeHandler } from './action-type.ts';
import { checkBuildReference } from './build-reference.ts';
import { Nullable, OneOf, ShortString } from './fields.ts';

const CLOUD_REGISTRIES = new Set(['AMAZON_ECR', 'GOOGLE_GCR', 'GOOGLE_ARTIFACT_REGISTRY']);

function takesImageFromAction(s: ContainerActionSettings): boolean {
  return s.use_image_from_action || s.image_location === 'ACTION';
}

/** RUN_DOCKER_CONTAINER: run commands in a container of an image, with the pipeline filesystem mounted. */
export const runDockerContainer: ActionTypeHandler<ContainerActionSettings> = {
  fields: {
    docker_image_name: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s]+$' })),
    docker_image_tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' })),
    inline_commands: Type.Optional(Type.String({ maxLength: 100_000 })),
    run_as_user: Nullable(Type.String({ maxLength: 255 })),
    mount_filesystem_disable: Type.Optional(Type.Boolean()),
    mount_filesystem_path: Nullable(Type.String({ minLength: 1, maxLength: 1000 })),
    volume_mappings: Type.Optional(
      Type.Array(Type.String({ minLength: 3, maxLength: 2000 }), { maxItems: 50 }),
    ),
    login: Nullable(ShortString),
    password: Nullable(Type.String({ maxLength: 10000 })),
    registry: Nullable(ShortString),
    export_container_path: Nullable(Type.String({ minLength: 1, maxLength: 1000 })),
    integration: Nullable(
      Type.Object(
        { identifier: Type.String({ minLength: 1, maxLength: 255 }) },
        { additionalProperties: true },
      ),
    ),
    region: Nullable(Type.String({ maxLength: 64 })),
    use_image_from_action: Type.Optional(Type.Boolean()),
    docker_build_action_id: Nullable(Type.Integer({ minimum: 0 })),
    docker_build_action_name: Nullable(ShortString),
    entrypoint: Nullable(Type.String({ maxLength: 10000 })),
    image_location: Nullable(OneOf(['PUBLIC_REGISTRY', 'PRIVATE_REGISTRY', 'ACTION'] as const)),
    docker_registry: Nullable(
      OneOf(['NONE', 'DOCKER_HUB', 'AMAZON_ECR', 'GOOGLE_GCR', 'GOOGLE_ARTIFACT_REGISTRY', 'OTHER'] as const),
    ),
  },
  // The image name and tag are required unless the image comes from a DOCKERFILE action (see check).
  required: ['inline_commands'],
  defaults: DOCKER_CONTAINER_DEFAULTS,

  check(s, ctx) {
    for (const entry of s.volume_mappings) {
      const parsed = parseVolumeMapping(entry);
      if (typeof parsed === 'string') return parsed;
    }
    if (s.export_container_path !== null && !staysInside(s.export_container_path)) {
      return `export_container_path "${s.export_container_path}" leaves the pipeline filesystem`;
    }
    if (s.mount_filesystem_path !== null) {
      const problem = containerMountPathProblem(s.mount_filesystem_path, 'mount_filesystem_path');
      if (problem !== null) return problem;
    }
    if (s.region !== null || (s.docker_registry !== null && CLOUD_REGISTRIES.has(s.docker_registry))) {
      return 'not supported yet: registries that need a cloud provider API (Amazon ECR, Google GCR/Artifact Registry)';
    }
    if (takesImageFromAction(s)) {
      return checkBuildReference(
        {
          docker_build_action_id: s.docker_build_action_id ?? 0,
          docker_build_action_name: s.docker_build_action_name,
        },
        ctx,
      );
    }
    for (const field of ['docker_image_name', 'docker_image_tag'] as const)
      if (!s[field]) return `field "${field}" is required`;
    return null;
  },

  async run(s, ctx) {
    let builtImage: string | undefined;
    if (takesImageFromAction(s)) {
      const source = ctx.builtImageFor({
        docker_build_action_id: s.docker_build_action_id ?? 0,
        docker_build_action_name: s.docker_build_action_name,
      });
      if (typeof source !== 'string') return source;
      builtImage = source;
    }
    return runContainerAction(s, {
      runtime: ctx.runtime,
      networkMode: ctx.networkMode,
      cancelGraceSeconds: ctx.cancelGraceSeconds,
      fs: ctx.fs,
      projectName: ctx.projectName,
      variables: ctx.variables,
      secrets: ctx.secrets,
      log: ctx.log,
      signal: ctx.signal,
      labels: ctx.labels,
      forcePull: ctx.forcePull,
      onContainer: ctx.onContainer,
      afterward: ctx.afterward,
      files: ctx.files,
      outputsDir: ctx.outputsDir,
      packageMount: ctx.packageMount,
      resolveIntegration: ctx.resolveIntegration,
      ...(builtImage !== undefined ? { builtImage } : {}),
      ...(ctx.prepared !== undefined ? { prepared: ctx.prepared } : {}),
    });
  },

  // An image an earlier action builds does not exist yet.
  prepare: (s, ctx) => (takesImageFromAction(s) ? Promise.resolve(null) : prepareContainer(s, ctx)),

  rerunOnRetry: () => false,
};
