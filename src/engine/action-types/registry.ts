import {
  COMMON_ACTION_DEFAULTS,
  SUPPORTED_ACTION_TYPES,
  UNSUPPORTED_TRIGGER_TIMES,
  type ActionSettings,
  type ActionType,
} from '../../domain/action.ts';
import type { ActionOutcome } from '../actions/run-docker-container.ts';
import type { ActionRunContext, ActionTypeHandler, ActionTypeRegistry, SaveContext } from './action-type.ts';
import { dockerPush } from './docker-push.ts';
import { dockerfile } from './dockerfile.ts';
import { runDockerContainer } from './run-docker-container.ts';
import { waitForApply } from './wait-for-apply.ts';

/**
 * Every action type Gantry runs, one entry each. The mapped type makes a type listed in
 * SUPPORTED_ACTION_TYPES without an entry here a compile error.
 */
export const ACTION_TYPES: ActionTypeRegistry = {
  RUN_DOCKER_CONTAINER: runDockerContainer,
  DOCKERFILE: dockerfile,
  DOCKER_PUSH: dockerPush,
  WAIT_FOR_APPLY: waitForApply,
};

/** Whether actions of `type` are approval gates (WAIT_FOR_APPLY). */
export function isGate(type: ActionType): boolean {
  return ACTION_TYPES[type].gate === true;
}

export function isSupportedActionType(type: string): type is ActionType {
  return (SUPPORTED_ACTION_TYPES as readonly string[]).includes(type);
}

/**
 * The handler of `type`, its settings widened to the union. Callers pass settings stored for that
 * type (the action's `type` column says which), which is what makes the cast sound.
 */
export function actionType(type: ActionType): ActionTypeHandler<ActionSettings> {
  return ACTION_TYPES[type] as unknown as ActionTypeHandler<ActionSettings>;
}

/** Defaults of a new action of `type`: the common fields, then the type's own. */
export function actionDefaults(type: ActionType): ActionSettings {
  return { ...COMMON_ACTION_DEFAULTS, ...actionType(type).defaults } as ActionSettings;
}

/** Rules of the fields every action has. */
function checkCommonRules(s: ActionSettings): string | null {
  if ((UNSUPPORTED_TRIGGER_TIMES as readonly string[]).includes(s.trigger_time))
    return `not supported yet: trigger_time ${s.trigger_time}`;
  for (const c of s.trigger_conditions) {
    if (c.trigger_condition === 'ON_CHANGE_AT_PATH' && !c.trigger_condition_paths?.length)
      return 'ON_CHANGE_AT_PATH needs trigger_condition_paths';
    if (c.trigger_condition.startsWith('VAR_') && !c.trigger_variable_key)
      return `${c.trigger_condition} needs trigger_variable_key`;
  }
  return null;
}

/** Save-time rules a schema cannot express, common then the type's; a client-facing message or null. */
export function checkActionSettings(type: ActionType, s: ActionSettings, ctx: SaveContext): string | null {
  return checkCommonRules(s) ?? actionType(type).check(s, ctx);
}

/** One attempt of an action of `type`. */
export function runAction(
  type: ActionType,
  s: ActionSettings,
  ctx: ActionRunContext,
): Promise<ActionOutcome> {
  return actionType(type).run(s, ctx);
}
