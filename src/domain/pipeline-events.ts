import { Cron } from 'croner';
import type {
  EventType,
  PipelineEvent,
  PipelineTriggerCondition,
  PipelineTriggerConditionType,
} from './pipeline.ts';

/** An event as a client sends it: every key but `type` may be missing or null. */
export interface EventInput {
  type: EventType;
  refs?: string[] | null;
  events?: string[] | null;
  branches?: string[] | null;
  start_date?: string | null;
  delay?: number | null;
  cron?: string | null;
  timezone?: string | null;
  prefix?: string | null;
  whitelist?: string[] | null;
  totp?: boolean | null;
}

export type ConditionInput = { trigger_condition: PipelineTriggerConditionType } & {
  [K in Exclude<keyof PipelineTriggerCondition, 'trigger_condition'>]?: PipelineTriggerCondition[K] | null;
};

/** True when `zone` is an IANA time zone this Node knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Stores an event as sent, with the keys it did not send null (timezone ""), so it echoes exactly. */
export function normalizeEvent(e: EventInput): PipelineEvent {
  return {
    type: e.type,
    refs: e.refs ?? null,
    events: e.events ?? null,
    branches: e.branches ?? null,
    start_date: e.start_date ?? null,
    delay: e.delay ?? null,
    cron: e.cron ?? null,
    timezone: e.timezone ?? '',
    prefix: e.prefix ?? null,
    whitelist: e.whitelist ?? null,
    totp: e.totp ?? false,
  };
}

/** What is wrong with an event's settings, or null. */
export function eventProblem(e: PipelineEvent, index: number): string | null {
  const where = `events[${index}] (${e.type})`;
  if (e.type === 'SCHEDULE') {
    if (e.cron !== null && e.cron !== '') {
      if (e.delay !== null && e.delay !== 0) return `${where}: give either cron or delay, not both`;
      if (e.timezone !== '' && !isTimeZone(e.timezone)) return `${where}: unknown timezone "${e.timezone}"`;
      try {
        new Cron(e.cron, { paused: true, ...(e.timezone ? { timezone: e.timezone } : {}) });
      } catch (err) {
        return `${where}: invalid cron "${e.cron}": ${(err as Error).message}`;
      }
      if (e.cron.trim().split(/\s+/).length !== 5)
        return `${where}: cron needs the 5 standard fields (minute hour day month weekday)`;
      return null;
    }
    if (e.delay === null || e.delay < 1)
      return `${where}: needs cron, or delay (minutes between runs, at least 1) with an optional start_date`;
    if (e.start_date !== null && Number.isNaN(Date.parse(e.start_date)))
      return `${where}: start_date must be an ISO-8601 date such as 2026-01-01T10:00:00Z`;
    if (e.timezone !== '' && !isTimeZone(e.timezone)) return `${where}: unknown timezone "${e.timezone}"`;
    return null;
  }
  if (e.cron !== null || e.delay !== null || e.start_date !== null)
    return `${where}: start_date, delay and cron belong to SCHEDULE events`;
  return null;
}

/** Stores a condition with all eleven keys ("" or null for the unused ones). */
export function normalizeCondition(c: ConditionInput): PipelineTriggerCondition {
  return {
    trigger_condition: c.trigger_condition,
    trigger_condition_paths: c.trigger_condition_paths ?? null,
    trigger_variable_key: c.trigger_variable_key ?? '',
    trigger_variable_value: c.trigger_variable_value ?? '',
    trigger_hours: c.trigger_hours ?? null,
    trigger_days: c.trigger_days ?? null,
    timezone: c.timezone ?? '',
    trigger_project_name: c.trigger_project_name ?? '',
    trigger_pipeline_name: c.trigger_pipeline_name ?? '',
    trigger_user: c.trigger_user ?? '',
    trigger_group: c.trigger_group ?? '',
  };
}

/** What is wrong with a condition's settings (a field its type needs is missing), or null. */
export function conditionProblem(c: PipelineTriggerCondition, index: number): string | null {
  const where = `trigger_conditions[${index}] (${c.trigger_condition})`;
  switch (c.trigger_condition) {
    case 'ON_CHANGE_AT_PATH':
      return (c.trigger_condition_paths ?? []).length === 0
        ? `${where}: needs trigger_condition_paths`
        : null;
    case 'VAR_IS':
    case 'VAR_IS_NOT':
    case 'VAR_CONTAINS':
    case 'VAR_NOT_CONTAINS':
      return c.trigger_variable_key === '' ? `${where}: needs trigger_variable_key` : null;
    case 'DATETIME':
      if ((c.trigger_hours ?? []).length === 0 && (c.trigger_days ?? []).length === 0)
        return `${where}: needs trigger_hours or trigger_days`;
      return c.timezone !== '' && !isTimeZone(c.timezone)
        ? `${where}: unknown timezone "${c.timezone}"`
        : null;
    case 'SUCCESS_PIPELINE':
      return c.trigger_project_name === '' || c.trigger_pipeline_name === ''
        ? `${where}: needs trigger_project_name and trigger_pipeline_name`
        : null;
    case 'TRIGGERING_USER_IS':
    case 'TRIGGERING_USER_IS_NOT':
      return c.trigger_user === '' ? `${where}: needs trigger_user (an e-mail address)` : null;
    case 'TRIGGERING_USER_IS_IN_GROUP':
    case 'TRIGGERING_USER_IS_NOT_IN_GROUP':
      return c.trigger_group === '' ? `${where}: needs trigger_group (a group name)` : null;
    default:
      return null;
  }
}

/** A ref name as git reports it, split into the kind of ref and its short name. */
export interface RefName {
  full: string;
  kind: 'branch' | 'tag' | 'other';
  short: string;
}

export function parseRef(full: string): RefName {
  if (full.startsWith('refs/heads/'))
    return { full, kind: 'branch', short: full.slice('refs/heads/'.length) };
  if (full.startsWith('refs/tags/')) return { full, kind: 'tag', short: full.slice('refs/tags/'.length) };
  return { full, kind: 'other', short: full };
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${body}$`);
}

/**
 * Whether `ref` matches one of Buddy's ref patterns: a full ref (`refs/heads/master`), a full
 * pattern (`refs/heads/*`, `refs/tags/v*`; `*` spans slashes), or a plain branch name or pattern
 * (`master`, `feature/*`), which names branches only. `:default` means the default branch.
 */
export function refMatches(patterns: readonly string[], ref: RefName, defaultBranch: string | null): boolean {
  return patterns.some((p) => {
    if (p === ':default') return ref.kind === 'branch' && ref.short === defaultBranch;
    if (p.startsWith('refs/')) return globToRegExp(p).test(ref.full);
    return ref.kind === 'branch' && globToRegExp(p).test(ref.short);
  });
}
