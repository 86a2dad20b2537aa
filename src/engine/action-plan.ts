import type { ActionSettings, TriggerCondition } from '../domain/action.ts';

/** An action execution as the planner sees it. */
export interface PlannedAction {
  id: string;
  actionId: number;
  settings: ActionSettings;
  status: string;
}

/**
 * Splits main actions (ON_EVERY_EXECUTION) into groups that run together: an action whose run_next is
 * IN_SOFT_PARALLEL or IN_HARD_PARALLEL runs with the one after it. An action `alone` says is a group of
 * its own whatever run_next says (an approval gate waits for everything before it, and nothing after
 * it starts before the approval).
 */
export function parallelGroups<T extends PlannedAction>(
  actions: readonly T[],
  alone: (a: T) => boolean = () => false,
): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  for (const a of actions) {
    if (alone(a)) {
      if (current.length > 0) groups.push(current);
      groups.push([a]);
      current = [];
      continue;
    }
    current.push(a);
    if (a.settings.run_next === 'WAIT_ON_SUCCESS') {
      groups.push(current);
      current = [];
    }
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Whether an action's trigger conditions (ANDed) hold for this execution. */
export function conditionsHold(
  conditions: readonly TriggerCondition[],
  changedPaths: readonly string[] | null,
  variables: ReadonlyMap<string, string>,
): boolean {
  return conditions.every((c) => {
    const value = variables.get(c.trigger_variable_key ?? '') ?? '';
    const expected = c.trigger_variable_value ?? '';
    switch (c.trigger_condition) {
      case 'ALWAYS':
        return true;
      case 'ON_CHANGE':
        return changedPaths === null || changedPaths.length > 0;
      case 'ON_CHANGE_AT_PATH':
        return (
          changedPaths === null ||
          (c.trigger_condition_paths ?? []).some((p) => {
            const prefix = p.replace(/^\/+/, '');
            return changedPaths.some(
              (changed) => changed === prefix || changed.startsWith(prefix.replace(/\/?$/, '/')),
            );
          })
        );
      case 'VAR_IS':
        return value === expected;
      case 'VAR_IS_NOT':
        return value !== expected;
      case 'VAR_CONTAINS':
        return value.includes(expected);
      case 'VAR_NOT_CONTAINS':
        return !value.includes(expected);
    }
  });
}

/** Whether an action with `trigger_time` runs at the end phase, given how the main actions went. */
export function runsInFinalPhase(
  triggerTime: string,
  mainSucceeded: boolean,
  previousStatus: string | null,
): boolean {
  if (triggerTime === 'ON_SUCCESS') return mainSucceeded;
  if (triggerTime === 'ON_FAILURE') return !mainSucceeded;
  if (triggerTime === 'ON_BACK_TO_SUCCESS')
    return mainSucceeded && (previousStatus === 'FAILED' || previousStatus === 'TERMINATED');
  return false;
}

/** Splits a command string into words, honouring single and double quotes (no expansion). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let inWord = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh']);

/**
 * Prepended to shell commands: stderr joins stdout in one pipe, so the log keeps the order the
 * commands wrote in. Docker reads the two pipes separately and cannot know which line came first
 * (`echo out; echo err >&2` came back err first, and not stably); the log API holds plain lines, so
 * nothing is lost by merging them.
 */
export const MERGE_STDERR = 'exec 2>&1\n';

/**
 * Our decision for inline_commands: a shell entrypoint runs `<entrypoint> -c "<commands>"`, another
 * entrypoint gets the commands as word-split arguments, no entrypoint keeps the image's and runs
 * `sh -c "<commands>"`. Shell commands run with stderr merged into stdout (MERGE_STDERR).
 */
export function containerCommand(
  entrypoint: string | null,
  commands: string,
): { entrypoint?: string[]; cmd?: string[] } {
  const ep = entrypoint === null || entrypoint.trim() === '' ? null : splitWords(entrypoint);
  const hasCommands = commands.trim() !== '';
  if (ep === null) return hasCommands ? { cmd: ['sh', '-c', MERGE_STDERR + commands] } : {};
  const shell = SHELLS.has((ep[0] ?? '').split('/').pop() ?? '');
  if (shell) return { entrypoint: ep, cmd: hasCommands ? ['-c', MERGE_STDERR + commands] : [] };
  return { entrypoint: ep, cmd: splitWords(commands) };
}
