import assert from 'node:assert/strict';
import type { Db } from '../../src/store/database.ts';

/** Buddy's error body, exactly: `{"errors":[{"message": "<something a person can read>"}]}`. */
export function assertBuddyError(body: unknown, context = ''): void {
  const text = JSON.stringify(body);
  assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body), `${context} error body is not an object: ${text}`);
  assert.deepEqual(Object.keys(body), ['errors'], `${context} error body has other keys: ${text}`);
  const errors = (body as { errors: unknown }).errors;
  assert.ok(Array.isArray(errors) && errors.length === 1, `${context} errors is not a one-element array: ${text}`);
  const first = errors[0] as unknown;
  assert.ok(first !== null && typeof first === 'object', `${context} errors[0] is not an object: ${text}`);
  assert.deepEqual(Object.keys(first), ['message'], `${context} errors[0] has other keys: ${text}`);
  const message = (first as { message: unknown }).message;
  assert.ok(typeof message === 'string' && message.trim() !== '', `${context} message is empty: ${text}`);
}

const TABLES = ['users', 'tokens', 'workspaces', 'projects', 'pipelines', 'actions', 'executions', 'action_executions', 'execution_events', 'meta'] as const;

/** Every row of every table, for "nothing was stored" comparisons. */
export async function snapshotRows(db: Db): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) out[table] = await db.selectFrom(table).selectAll().execute();
  return out;
}
