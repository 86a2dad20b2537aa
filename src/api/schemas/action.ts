import { Type, type TObject } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import {
  RUN_NEXT,
  SUPPORTED_ACTION_TYPES,
  TRIGGER_CONDITIONS,
  TRIGGER_TIMES,
  UNSUPPORTED_TRIGGER_TIMES,
  type ActionType,
} from '../../domain/action.ts';
import { InlineVariableSchema, Name, OneOf, ReadOnlyEcho } from './common.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Optional(Type.Union([t, Type.Null()]));
const ShortString = Type.String({ maxLength: 255 });

/** Fields every action type accepts. */
const CommonFields = {
  name: Type.Optional(Name),
  type: Type.Optional(Type.String({ maxLength: 64 })),
  after_action_id: Nullable(Type.Integer({ minimum: 0 })),
  trigger_time: Type.Optional(OneOf([...TRIGGER_TIMES, ...UNSUPPORTED_TRIGGER_TIMES])),
  trigger_conditions: Type.Optional(
    Type.Array(
      Type.Object(
        {
          trigger_condition: OneOf(TRIGGER_CONDITIONS),
          trigger_condition_paths: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 100 }),
          ),
          trigger_variable_key: Type.Optional(ShortString),
          trigger_variable_value: Type.Optional(Type.String({ maxLength: 10000 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 20 },
    ),
  ),
  run_next: Type.Optional(OneOf(RUN_NEXT)),
  run_only_on_first_failure: Type.Optional(Type.Boolean()),
  variables: Type.Optional(Type.Array(InlineVariableSchema, { maxItems: 200 })),
  disabled: Type.Optional(Type.Boolean()),
  timeout: Nullable(Type.Integer({ minimum: 1, maximum: 7 * 86400, description: 'seconds' })),
  ignore_errors: Type.Optional(Type.Boolean()),
  retry_count: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
  retry_interval: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'seconds' })),
  ...ReadOnlyEcho,
  pipeline: Type.Optional(Type.Unknown()),
  last_execution_status: Type.Optional(Type.Unknown()),
  current_revision: Type.Optional(Type.Unknown()),
};

const DockerContainerFields = {
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
};

const RegistryFields = {
  login: Nullable(ShortString),
  password: Nullable(Type.String({ maxLength: 10000 })),
  registry: Nullable(ShortString),
  repository: Nullable(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s:@]+$' })),
  integration: Nullable(
    Type.Object(
      { identifier: Type.String({ minLength: 1, maxLength: 255 }) },
      { additionalProperties: true },
    ),
  ),
};
const Tag = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' });

const DockerfileFields = {
  ...RegistryFields,
  dockerfile_path: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  context_path: Nullable(Type.String({ minLength: 1, maxLength: 1000 })),
  docker_image_tag: Type.Optional(Tag),
  build_args: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 10000 }), { maxItems: 100 })),
  target_platform: Nullable(Type.String({ maxLength: 64, pattern: '^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$' })),
  do_not_prune_images: Type.Optional(Type.Boolean()),
  insecure_registry: Type.Optional(Type.Boolean()),
};

const DockerPushFields = {
  ...RegistryFields,
  docker_image_tag: Type.Optional(Tag),
  docker_build_action_id: Nullable(Type.Integer({ minimum: 0 })),
  docker_build_action_name: Nullable(ShortString),
};

const TYPE_SCHEMAS: Record<ActionType, TObject> = {
  RUN_DOCKER_CONTAINER: Type.Object(
    { ...CommonFields, ...DockerContainerFields },
    { additionalProperties: false },
  ),
  DOCKERFILE: Type.Object({ ...CommonFields, ...DockerfileFields }, { additionalProperties: false }),
  DOCKER_PUSH: Type.Object({ ...CommonFields, ...DockerPushFields }, { additionalProperties: false }),
};

/**
 * Fields each type requires on create (after `name` and `type`). A container action's image name and
 * tag are required unless it takes its image from a DOCKERFILE action (checked with the other rules).
 */
export const REQUIRED_FIELDS: Record<ActionType, readonly string[]> = {
  RUN_DOCKER_CONTAINER: ['inline_commands'],
  DOCKERFILE: ['dockerfile_path'],
  DOCKER_PUSH: ['repository'],
};

// Bodies are checked strictly: no coercion, nothing silently dropped.
const ajv = new Ajv({
  allErrors: false,
  strict: false,
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
});
const CHECKS = Object.fromEntries(
  Object.entries(TYPE_SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<ActionType, ValidateFunction>;

export function isSupportedType(type: string): type is ActionType {
  return (SUPPORTED_ACTION_TYPES as readonly string[]).includes(type);
}

/** Validates a body against its type's schema; returns the first problem as a client-facing message. */
export function checkActionBody(type: ActionType, body: unknown): string | null {
  const check = CHECKS[type];
  if (check(body)) return null;
  const first = check.errors?.[0];
  if (!first) return 'invalid body';
  const field = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'additionalProperties') {
    return `unknown field "${[field, params.additionalProperty].filter(Boolean).join('.')}" for action type ${type}`;
  }
  if (first.keyword === 'enum')
    return `field "${field}" has an unsupported value; allowed: ${(params.allowedValues as string[]).join(', ')}`;
  if (first.keyword === 'required')
    return `field "${[field, params.missingProperty].filter(Boolean).join('.')}" is required`;
  return `field "${field || '(body)'}" ${first.message ?? 'is invalid'}`;
}

/** Route-level schema: an object with a type; the type's own schema is applied in the handler. */
export const ActionBodyEnvelope = Type.Object(
  { type: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: true },
);
