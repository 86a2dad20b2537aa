import type { ObjectPermissions } from './access-levels.ts';
import type { Priority } from './status.ts';

/** A variable given inline on a pipeline, an action or an execution. */
export interface InlineVariable {
  key: string;
  value: string;
  encrypted: boolean;
  description?: string | null;
  settable?: boolean;
}

export const EVENT_TYPES = [
  'PUSH',
  'CREATE_REF',
  'DELETE_REF',
  'SCHEDULE',
  'PULL_REQUEST',
  'WEBHOOK',
  'EMAIL',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One element of a pipeline's `events` (Buddy's PipelineEvent). Keys a client did not send stay
 * null, because Buddy's SDK indexes `refs` of a returned event when it is an array.
 */
export interface PipelineEvent {
  type: EventType;
  refs: string[] | null;
  events: string[] | null;
  branches: string[] | null;
  start_date: string | null;
  delay: number | null;
  cron: string | null;
  timezone: string;
  prefix: string | null;
  whitelist: string[] | null;
  totp: boolean;
}

export const PIPELINE_TRIGGER_CONDITIONS = [
  'ALWAYS',
  'ON_CHANGE',
  'ON_CHANGE_AT_PATH',
  'VAR_IS',
  'VAR_IS_NOT',
  'VAR_CONTAINS',
  'VAR_NOT_CONTAINS',
  'DATETIME',
  'SUCCESS_PIPELINE',
  'TRIGGERING_USER_IS',
  'TRIGGERING_USER_IS_NOT',
  'TRIGGERING_USER_IS_IN_GROUP',
  'TRIGGERING_USER_IS_NOT_IN_GROUP',
] as const;
export type PipelineTriggerConditionType = (typeof PIPELINE_TRIGGER_CONDITIONS)[number];

/** A pipeline-level trigger condition; all eleven keys are always present ("" / null when unused), as Buddy echoes them. */
export interface PipelineTriggerCondition {
  trigger_condition: PipelineTriggerConditionType;
  trigger_condition_paths: string[] | null;
  trigger_variable_key: string;
  trigger_variable_value: string;
  trigger_hours: number[] | null;
  trigger_days: number[] | null;
  timezone: string;
  trigger_project_name: string;
  trigger_pipeline_name: string;
  trigger_user: string;
  trigger_group: string;
}

export interface GitConfig {
  project: string;
  branch: string;
  path: string;
}

/** Every Buddy pipeline field that is configuration (not identity or run state). */
export interface PipelineSettings {
  on: 'CLICK' | 'EVENT' | 'SCHEDULE';
  refs: string[];
  events: PipelineEvent[];
  trigger_conditions: PipelineTriggerCondition[];
  priority: Priority;
  always_from_scratch: boolean;
  auto_clear_cache: boolean;
  concurrent_pipeline_runs: boolean;
  terminate_stale_runs: boolean;
  no_skip_to_most_recent: boolean;
  fail_on_prepare_env_warning: boolean;
  fetch_all_refs: boolean;
  ignore_fail_on_project_status: boolean;
  do_not_create_commit_status: boolean;
  description_required: boolean;
  strict_context: boolean;
  execution_message_template: string;
  git_changeset_base: 'LATEST_RUN' | 'LATEST_RUN_MATCHING_REF' | 'PULL_REQUEST' | '';
  filesystem_changeset_base: 'DATE_MODIFIED' | 'CONTENTS' | '';
  cpu: 'X64' | 'ARM';
  resources: string;
  worker: string;
  target_site_url: string;
  clone_depth: number;
  definition_source: 'LOCAL' | 'REMOTE';
  git_config_ref: 'NONE' | 'DYNAMIC' | 'FIXED';
  git_config: GitConfig | null;
  remote_path: string;
  remote_branch: string;
  remote_ref: string;
  remote_project_name: string;
  remote_parameters: { key: string; value: string }[];
  manage_variables_by_yaml: boolean;
  manage_permissions_by_yaml: boolean;
  /** Who may see, run and edit this pipeline beyond the project's pipeline level; null: everyone DEFAULT. */
  permissions: ObjectPermissions | null;
  disabled: boolean;
  disabled_reason: string;
  paused: boolean;
  pause_on_repeated_failures: number;
  loop: string[] | null;
  tags: string[];
  variables: InlineVariable[];
}

/** Buddy's defaults for a new pipeline defined in Gantry (definition_source LOCAL). */
export const PIPELINE_DEFAULTS: PipelineSettings = {
  on: 'CLICK',
  refs: [],
  events: [],
  trigger_conditions: [],
  priority: 'NORMAL',
  always_from_scratch: false,
  auto_clear_cache: false,
  concurrent_pipeline_runs: false,
  terminate_stale_runs: false,
  no_skip_to_most_recent: false,
  fail_on_prepare_env_warning: true,
  fetch_all_refs: false,
  ignore_fail_on_project_status: false,
  do_not_create_commit_status: false,
  description_required: false,
  strict_context: false,
  execution_message_template: '$BUDDY_EXECUTION_REVISION_SUBJECT',
  git_changeset_base: 'LATEST_RUN',
  filesystem_changeset_base: 'DATE_MODIFIED',
  cpu: 'X64',
  resources: 'DEFAULT',
  worker: '',
  target_site_url: '',
  clone_depth: 0,
  definition_source: 'LOCAL',
  git_config_ref: 'NONE',
  git_config: null,
  remote_path: '',
  remote_branch: '',
  remote_ref: '',
  remote_project_name: '',
  remote_parameters: [],
  manage_variables_by_yaml: false,
  manage_permissions_by_yaml: false,
  permissions: null,
  disabled: false,
  disabled_reason: '',
  paused: false,
  pause_on_repeated_failures: 0,
  loop: null,
  tags: [],
  variables: [],
};

/**
 * Defaults for a new pipeline, which depend on what the creating request says: a REMOTE pipeline
 * (its definition read from YAML elsewhere) has no changeset bases and does not fail on preparation
 * warnings, and a scheduled one pauses after 100 failed runs in a row (Buddy's values).
 */
export function pipelineDefaults(
  definitionSource: 'LOCAL' | 'REMOTE',
  events: readonly { type: string }[],
): PipelineSettings {
  const remote = definitionSource === 'REMOTE';
  return {
    ...PIPELINE_DEFAULTS,
    definition_source: definitionSource,
    fail_on_prepare_env_warning: !remote,
    git_changeset_base: remote ? '' : 'LATEST_RUN',
    filesystem_changeset_base: remote ? '' : 'DATE_MODIFIED',
    pause_on_repeated_failures: events.some((e) => e.type === 'SCHEDULE') ? 100 : 0,
  };
}

/**
 * Why a pipeline cannot run in Gantry yet although its settings are stored, or null when it can.
 * Checked when a run is asked for, so that the settings themselves round-trip through the API.
 */
export function runBlocker(s: PipelineSettings): string | null {
  if (s.definition_source === 'REMOTE')
    return 'not supported yet: running pipelines defined in a remote YAML file (definition_source REMOTE)';
  if (s.git_config_ref !== 'NONE')
    return 'not supported yet: running pipelines defined in the repository (git_config_ref DYNAMIC or FIXED)';
  if (s.loop !== null && s.loop.length > 0) return 'not supported yet: pipeline loops (loop)';
  return null;
}

/** URL-safe identifier derived from a display name ("My Pipeline!" → "my-pipeline"). */
export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);
  return slug === '' ? 'item' : slug;
}

/** The branch a pipeline's refs name ("refs/heads/dev" → "dev"), or null for patterns and tags. */
export function branchOfRefs(refs: readonly string[]): string | null {
  const first = refs[0];
  if (!first || first.includes('*') || first.startsWith(':')) return null;
  if (first.startsWith('refs/heads/')) return first.slice('refs/heads/'.length);
  if (first.startsWith('refs/')) return null;
  return first;
}
