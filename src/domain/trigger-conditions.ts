import type { PipelineTriggerCondition } from './pipeline.ts';

/** What a pipeline's trigger conditions are checked against, gathered before a run is created. */
export interface ConditionFacts {
  /** Paths changed since the changeset base; null when there is no base (the first run), which counts as changed. */
  changedPaths: readonly string[] | null;
  /** The variables the run would see (workspace < project < pipeline < the request's), clear values. */
  variables: ReadonlyMap<string, string>;
  /** The moment of the check, in milliseconds. */
  nowMs: number;
  /** Last execution status of each pipeline a SUCCESS_PIPELINE condition names, by "project/pipeline"; absent = no such pipeline. */
  pipelineStatuses: ReadonlyMap<string, string>;
  /** Who triggers the run: e-mail and the names of their groups in the workspace. */
  user: { email: string; groups: ReadonlySet<string> };
}

/** Whether a changed path lies at or under `wanted` ("src", "/src/", "src/app.ts"). */
export function changedAtPath(changed: readonly string[], wanted: string): boolean {
  const prefix = wanted.replace(/^\/+/, '').replace(/\/+$/, '');
  if (prefix === '') return changed.length > 0;
  return changed.some((p) => p === prefix || p.startsWith(`${prefix}/`));
}

/** Hour (0-23) and ISO weekday (1 = Monday ... 7 = Sunday) of `ms` in IANA zone `zone` (UTC when ""). */
export function hourAndDay(ms: number, zone: string): { hour: number; day: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone === '' ? 'UTC' : zone,
    hour: 'numeric',
    hourCycle: 'h23',
    weekday: 'short',
  }).formatToParts(new Date(ms));
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? '0') % 24;
  const weekday = parts.find((p) => p.type === 'weekday')?.value ?? 'Mon';
  const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(weekday) + 1;
  return { hour, day };
}

export function successPipelineKey(projectName: string, pipelineName: string): string {
  return `${projectName}/${pipelineName}`;
}

/** Why one condition does not hold, or null when it does. */
function unmet(c: PipelineTriggerCondition, f: ConditionFacts): string | null {
  const value = f.variables.get(c.trigger_variable_key);
  const shown = (v: string | undefined): string => (v === undefined ? 'is not set' : `is "${v}"`);
  const expected = c.trigger_variable_value;
  switch (c.trigger_condition) {
    case 'ALWAYS':
      return null;
    case 'ON_CHANGE':
      return f.changedPaths === null || f.changedPaths.length > 0
        ? null
        : 'ON_CHANGE: nothing changed since the changeset base';
    case 'ON_CHANGE_AT_PATH': {
      const paths = c.trigger_condition_paths ?? [];
      if (f.changedPaths === null || paths.some((p) => changedAtPath(f.changedPaths!, p))) return null;
      return `ON_CHANGE_AT_PATH: nothing changed at ${paths.join(', ')}`;
    }
    case 'VAR_IS':
      return (value ?? '') === expected
        ? null
        : `VAR_IS: ${c.trigger_variable_key} ${shown(value)}, not "${expected}"`;
    case 'VAR_IS_NOT':
      return (value ?? '') !== expected ? null : `VAR_IS_NOT: ${c.trigger_variable_key} is "${expected}"`;
    case 'VAR_CONTAINS':
      return (value ?? '').includes(expected)
        ? null
        : `VAR_CONTAINS: ${c.trigger_variable_key} ${shown(value)}, which does not contain "${expected}"`;
    case 'VAR_NOT_CONTAINS':
      return (value ?? '').includes(expected)
        ? `VAR_NOT_CONTAINS: ${c.trigger_variable_key} contains "${expected}"`
        : null;
    case 'DATETIME': {
      const { hour, day } = hourAndDay(f.nowMs, c.timezone);
      const hours = c.trigger_hours ?? [];
      const days = c.trigger_days ?? [];
      const zone = c.timezone === '' ? 'UTC' : c.timezone;
      if (hours.length > 0 && !hours.includes(hour))
        return `DATETIME: the hour is ${hour} in ${zone}, not one of ${hours.join(', ')}`;
      if (days.length > 0 && !days.includes(day))
        return `DATETIME: the day is ${day} (1 = Monday) in ${zone}, not one of ${days.join(', ')}`;
      return null;
    }
    case 'SUCCESS_PIPELINE': {
      const key = successPipelineKey(c.trigger_project_name, c.trigger_pipeline_name);
      const status = f.pipelineStatuses.get(key);
      if (status === undefined) return `SUCCESS_PIPELINE: there is no pipeline "${key}"`;
      return status === 'SUCCESSFUL'
        ? null
        : `SUCCESS_PIPELINE: the last run of "${key}" is ${status}, not SUCCESSFUL`;
    }
    case 'TRIGGERING_USER_IS':
      return sameEmail(f.user.email, c.trigger_user)
        ? null
        : `TRIGGERING_USER_IS: the run is triggered by ${f.user.email}, not ${c.trigger_user}`;
    case 'TRIGGERING_USER_IS_NOT':
      return sameEmail(f.user.email, c.trigger_user)
        ? `TRIGGERING_USER_IS_NOT: the run is triggered by ${c.trigger_user}`
        : null;
    case 'TRIGGERING_USER_IS_IN_GROUP':
      return f.user.groups.has(c.trigger_group)
        ? null
        : `TRIGGERING_USER_IS_IN_GROUP: ${f.user.email} is not in group "${c.trigger_group}"`;
    case 'TRIGGERING_USER_IS_NOT_IN_GROUP':
      return f.user.groups.has(c.trigger_group)
        ? `TRIGGERING_USER_IS_NOT_IN_GROUP: ${f.user.email} is in group "${c.trigger_group}"`
        : null;
  }
}

function sameEmail(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * Why a pipeline's trigger conditions (ANDed, as Buddy does) stop a run, naming the first that does
 * not hold; null when all hold. Pure, so every condition type is unit-tested.
 */
export function unmetTriggerCondition(
  conditions: readonly PipelineTriggerCondition[],
  facts: ConditionFacts,
): string | null {
  for (const c of conditions) {
    const reason = unmet(c, facts);
    if (reason) return `trigger condition not met: ${reason}`;
  }
  return null;
}
