import { Type } from '@sinclair/typebox';
import { WAIT_FOR_APPLY_DEFAULTS, type WaitForApplyActionSettings } from '../../domain/action.ts';
import type { ActionTypeHandler } from './action-type.ts';
import { Nullable } from './fields.ts';

/**
 * WAIT_FOR_APPLY: an approval gate. The runner stops the run here (WAITING_FOR_APPLY, no runner held)
 * until someone who may run the pipeline answers PATCH .../executions/:id {"operation":"APPLY"}; the
 * run then goes on from the next action on whichever runner is free. Nothing runs in a container.
 */
export const waitForApply: ActionTypeHandler<WaitForApplyActionSettings> = {
  fields: {
    comment: Nullable(Type.String({ maxLength: 10_000 })),
    // Buddy's per-gate approvers (others/users/groups ALLOWED|DENIED). Accepted only when absent or null:
    // who may approve is who may run the pipeline (RUN_ONLY or more), see check().
    permissions: Type.Optional(Type.Unknown()),
  },
  required: [],
  defaults: WAIT_FOR_APPLY_DEFAULTS,
  gate: true,

  check(s) {
    const extra = s as WaitForApplyActionSettings & { permissions?: unknown };
    if (extra.permissions !== undefined && extra.permissions !== null)
      return 'not supported yet: permissions on WAIT_FOR_APPLY (whoever may run the pipeline, RUN_ONLY or more, approves)';
    if (s.trigger_time !== 'ON_EVERY_EXECUTION')
      return `not supported yet: WAIT_FOR_APPLY with trigger_time ${s.trigger_time} (a gate stands among the actions of every execution)`;
    if (s.retry_count > 0) return 'retry_count has no meaning for WAIT_FOR_APPLY (nothing runs to fail)';
    return null;
  },

  // The runner stops at a gate instead of running it (execution-runner.ts); reaching this is a bug.
  run() {
    return Promise.reject(
      new Error('WAIT_FOR_APPLY is a gate: the runner waits for an approval, it runs nothing'),
    );
  },

  rerunOnRetry: () => false,
};
