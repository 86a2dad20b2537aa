import type { Priority } from './status.ts';

/** A variable given inline on a pipeline, an action or an execution. */
export interface InlineVariable {
  key: string;
  value: string;
  encrypted: boolean;
  description?: string | null;
  settable?: boolean;
}

/** Every Buddy pipeline field that is configuration (not identity or run state). */
export interface PipelineSettings {
  on: 'CLICK' | 'EVENT' | 'SCHEDULE';
  refs: string[];
  events: unknown[];
  trigger_conditions: unknown[];
  priority: Priority;
  always_from_scratch: boolean;
  auto_clear_cache: boolean;
  concurrent_pipeline_runs: boolean;
  terminate_stale_runs: boolean;
  no_skip_to_most_recent: boolean;
  fail_on_prepare_env_warning: boolean;
  ignore_fail_on_project_status: boolean;
  do_not_create_commit_status: boolean;
  description_required: boolean;
  strict_context: boolean;
  execution_message_template: string;
  git_changeset_base: 'LATEST_RUN' | 'LATEST_RUN_MATCHING_REF' | 'PULL_REQUEST';
  filesystem_changeset_base: 'DATE_MODIFIED' | 'CONTENTS';
  cpu: 'X64' | 'ARM';
  resources: string;
  definition_source: 'LOCAL' | 'REMOTE';
  git_config_ref: 'NONE' | 'DYNAMIC' | 'FIXED';
  disabled: boolean;
  disabled_reason: string | null;
  paused: boolean;
  tags: string[];
  variables: InlineVariable[];
}

/** Buddy's defaults for a new pipeline. */
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
  fail_on_prepare_env_warning: false,
  ignore_fail_on_project_status: false,
  do_not_create_commit_status: false,
  description_required: false,
  strict_context: false,
  execution_message_template: '$BUDDY_EXECUTION_REVISION_SUBJECT',
  git_changeset_base: 'LATEST_RUN',
  filesystem_changeset_base: 'DATE_MODIFIED',
  cpu: 'X64',
  resources: 'DEFAULT',
  definition_source: 'LOCAL',
  git_config_ref: 'NONE',
  disabled: false,
  disabled_reason: null,
  paused: false,
  tags: [],
  variables: [],
};

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
