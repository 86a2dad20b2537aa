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
import { Nullable, ShortString } from '../../engine/action-types/fields.ts';
import { ACTION_TYPES } from '../../engine/action-types/registry.ts';
import { InlineVariableSchema, Name, OneOf, ReadOnlyEcho } from './common.ts';

/** Fields every action type accepts. */
export const CommonFields = {
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

const TYPE_SCHEMAS = Object.fromEntries(
  SUPPORTED_ACTION_TYPES.map((type): [ActionType, TObject] => [
    type,
    Type.Object({ ...CommonFields, ...ACTION_TYPES[type].fields }, { additionalProperties: false }),
  ]),
) as Record<ActionType, TObject>;

/**
 * Fields each type requires on create (after `name` and `type`). A container action's image name and
 * tag are required unless it takes its image from a DOCKERFILE action (checked with the other rules).
 */
export const REQUIRED_FIELDS = Object.fromEntries(
  SUPPORTED_ACTION_TYPES.map((type) => [type, ACTION_TYPES[type].required]),
) as Record<ActionType, readonly string[]>;

// Bodies are checked strictly: no coercion, nothing silently dropped.
const ajv = new Ajv({
  allErrors: false,
  strict: false,
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
});
/** Each type's validator, compiled when a body of that type is first checked (idle memory, start-up time). */
const CHECKS = new Map<ActionType, ValidateFunction>();

/** Validates a body against its type's schema; returns the first problem as a client-facing message. */
export function checkActionBody(type: ActionType, body: unknown): string | null {
  let check = CHECKS.get(type);
  if (!check) CHECKS.set(type, (check = ajv.compile(TYPE_SCHEMAS[type])));
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
