import { Type } from '@sinclair/typebox';
import { PRIORITIES } from '../../domain/status.ts';
import { InlineVariableSchema, Name, OneOf, ReadOnlyEcho } from './common.ts';

const Ref = Type.String({ minLength: 1, maxLength: 255 });

/** Pipeline fields a client may set; all optional here, `name` is checked as required on create. */
export const PipelineFields = {
  name: Type.Optional(Name),
  identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9_-]*$' })),
  on: Type.Optional(OneOf(['CLICK', 'EVENT', 'SCHEDULE'] as const)),
  refs: Type.Optional(Type.Array(Ref, { maxItems: 50 })),
  events: Type.Optional(
    Type.Array(Type.Object({ type: Type.String({ maxLength: 64 }) }, { additionalProperties: true }), {
      maxItems: 50,
    }),
  ),
  trigger_conditions: Type.Optional(
    Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 50 }),
  ),
  priority: Type.Optional(OneOf(PRIORITIES)),
  always_from_scratch: Type.Optional(Type.Boolean()),
  auto_clear_cache: Type.Optional(Type.Boolean()),
  concurrent_pipeline_runs: Type.Optional(Type.Boolean()),
  terminate_stale_runs: Type.Optional(Type.Boolean()),
  no_skip_to_most_recent: Type.Optional(Type.Boolean()),
  fail_on_prepare_env_warning: Type.Optional(Type.Boolean()),
  ignore_fail_on_project_status: Type.Optional(Type.Boolean()),
  do_not_create_commit_status: Type.Optional(Type.Boolean()),
  description_required: Type.Optional(Type.Boolean()),
  strict_context: Type.Optional(Type.Boolean()),
  execution_message_template: Type.Optional(Type.String({ maxLength: 1000 })),
  git_changeset_base: Type.Optional(
    OneOf(['LATEST_RUN', 'LATEST_RUN_MATCHING_REF', 'PULL_REQUEST'] as const),
  ),
  filesystem_changeset_base: Type.Optional(OneOf(['DATE_MODIFIED', 'CONTENTS'] as const)),
  cpu: Type.Optional(OneOf(['X64', 'ARM'] as const)),
  resources: Type.Optional(Type.String({ maxLength: 64 })),
  definition_source: Type.Optional(OneOf(['LOCAL', 'REMOTE'] as const)),
  git_config_ref: Type.Optional(OneOf(['NONE', 'DYNAMIC', 'FIXED'] as const)),
  disabled: Type.Optional(Type.Boolean()),
  disabled_reason: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  paused: Type.Optional(Type.Boolean()),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
  variables: Type.Optional(Type.Array(InlineVariableSchema, { maxItems: 200 })),
};

const Echo = {
  ...ReadOnlyEcho,
  ...Object.fromEntries(
    [
      'project',
      'creator',
      'last_execution_status',
      'last_execution_revision',
      'waiting_for_push',
      'permissions',
      'worker_assignment',
    ].map((k) => [k, Type.Optional(Type.Unknown())]),
  ),
};

export const PipelineCreateBody = Type.Object(
  { ...PipelineFields, ...Echo, name: Name },
  { additionalProperties: false },
);
export const PipelinePatchBody = Type.Object(
  { ...PipelineFields, ...Echo, clear_cache: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
