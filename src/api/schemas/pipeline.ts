import { Type, type TSchema } from '@sinclair/typebox';
import { EVENT_TYPES, PIPELINE_TRIGGER_CONDITIONS } from '../../domain/pipeline.ts';
import { PRIORITIES } from '../../domain/status.ts';
import { InlineVariableSchema, Name, OneOf, ReadOnlyEcho } from './common.ts';
import { ObjectPermissionsSchema } from './object-permissions.ts';

const Ref = Type.String({ minLength: 1, maxLength: 255 });
const Text = (maxLength = 1000) => Type.String({ maxLength });
const Strings = (maxItems = 50) => Type.Array(Type.String({ maxLength: 255 }), { maxItems });

/** Buddy's clients send null for "not set" (and, in a PATCH, for "unchanged"), so every field takes null. */
const Nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

export const PipelineEventSchema = Type.Object(
  {
    type: OneOf(EVENT_TYPES),
    refs: Nullable(Type.Array(Ref, { maxItems: 50 })),
    events: Nullable(Strings()),
    branches: Nullable(Strings()),
    start_date: Nullable(Type.String({ maxLength: 64 })),
    delay: Nullable(Type.Integer({ minimum: 0, maximum: 527040 })),
    cron: Nullable(Type.String({ maxLength: 255 })),
    timezone: Nullable(Type.String({ maxLength: 64 })),
    prefix: Nullable(Type.String({ maxLength: 255 })),
    whitelist: Nullable(Strings(100)),
    totp: Nullable(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const PipelineTriggerConditionSchema = Type.Object(
  {
    trigger_condition: OneOf(PIPELINE_TRIGGER_CONDITIONS),
    trigger_condition_paths: Nullable(
      Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 50 }),
    ),
    trigger_variable_key: Nullable(Type.String({ maxLength: 255 })),
    trigger_variable_value: Nullable(Type.String({ maxLength: 4096 })),
    trigger_hours: Nullable(Type.Array(Type.Integer({ minimum: 0, maximum: 23 }), { maxItems: 24 })),
    trigger_days: Nullable(Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { maxItems: 7 })),
    timezone: Nullable(Type.String({ maxLength: 64 })),
    trigger_project_name: Nullable(Type.String({ maxLength: 255 })),
    trigger_pipeline_name: Nullable(Type.String({ maxLength: 255 })),
    trigger_user: Nullable(Type.String({ maxLength: 255 })),
    trigger_group: Nullable(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);

/** Pipeline fields a client may set; all optional here, `name` is checked as required on create. */
export const PipelineFields = {
  name: Type.Optional(Name),
  identifier: Nullable(Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9_-]*$' })),
  on: Nullable(OneOf(['CLICK', 'EVENT', 'SCHEDULE'] as const)),
  refs: Nullable(Type.Array(Ref, { maxItems: 50 })),
  tags: Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
  events: Nullable(Type.Array(PipelineEventSchema, { maxItems: 50 })),
  trigger_conditions: Nullable(Type.Array(PipelineTriggerConditionSchema, { maxItems: 50 })),
  priority: Nullable(OneOf(PRIORITIES)),
  always_from_scratch: Nullable(Type.Boolean()),
  auto_clear_cache: Nullable(Type.Boolean()),
  concurrent_pipeline_runs: Nullable(Type.Boolean()),
  terminate_stale_runs: Nullable(Type.Boolean()),
  no_skip_to_most_recent: Nullable(Type.Boolean()),
  fail_on_prepare_env_warning: Nullable(Type.Boolean()),
  fetch_all_refs: Nullable(Type.Boolean()),
  ignore_fail_on_project_status: Nullable(Type.Boolean()),
  do_not_create_commit_status: Nullable(Type.Boolean()),
  description_required: Nullable(Type.Boolean()),
  strict_context: Nullable(Type.Boolean()),
  execution_message_template: Nullable(Text()),
  git_changeset_base: Nullable(OneOf(['LATEST_RUN', 'LATEST_RUN_MATCHING_REF', 'PULL_REQUEST', ''] as const)),
  filesystem_changeset_base: Nullable(OneOf(['DATE_MODIFIED', 'CONTENTS', ''] as const)),
  cpu: Nullable(OneOf(['X64', 'ARM'] as const)),
  resources: Nullable(Type.String({ maxLength: 64 })),
  worker: Nullable(Type.String({ maxLength: 255 })),
  target_site_url: Nullable(Text(2048)),
  clone_depth: Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  definition_source: Nullable(OneOf(['LOCAL', 'REMOTE'] as const)),
  git_config_ref: Nullable(OneOf(['NONE', 'DYNAMIC', 'FIXED'] as const)),
  git_config: Nullable(
    Type.Object(
      {
        project: Type.Optional(Type.String({ maxLength: 255 })),
        branch: Type.Optional(Type.String({ maxLength: 255 })),
        path: Type.Optional(Type.String({ maxLength: 1000 })),
      },
      { additionalProperties: false },
    ),
  ),
  remote_path: Nullable(Text()),
  remote_branch: Nullable(Type.String({ maxLength: 255 })),
  remote_ref: Nullable(Type.String({ maxLength: 255 })),
  remote_project_name: Nullable(Type.String({ maxLength: 255 })),
  remote_parameters: Nullable(
    Type.Array(
      Type.Object(
        { key: Type.String({ minLength: 1, maxLength: 255 }), value: Type.String({ maxLength: 4096 }) },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
  ),
  manage_variables_by_yaml: Nullable(Type.Boolean()),
  manage_permissions_by_yaml: Nullable(Type.Boolean()),
  permissions: Nullable(
    ObjectPermissionsSchema(['DEFAULT', 'DENIED', 'READ_ONLY', 'RUN_ONLY', 'READ_WRITE'] as const),
  ),
  disabled: Nullable(Type.Boolean()),
  disabled_reason: Nullable(Text()),
  paused: Nullable(Type.Boolean()),
  pause_on_repeated_failures: Nullable(Type.Integer({ minimum: 0, maximum: 100000 })),
  loop: Nullable(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })),
  variables: Nullable(Type.Array(InlineVariableSchema, { maxItems: 200 })),
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
      'worker_assignment',
      'trigger_webhook',
      'last_skipped_trigger',
    ].map((k) => [k, Type.Optional(Type.Unknown())]),
  ),
};

export const PipelineCreateBody = Type.Object(
  { ...PipelineFields, ...Echo, name: Name },
  { additionalProperties: false },
);
export const PipelinePatchBody = Type.Object(
  { ...PipelineFields, ...Echo, name: Nullable(Name), clear_cache: Nullable(Type.Boolean()) },
  { additionalProperties: false },
);
