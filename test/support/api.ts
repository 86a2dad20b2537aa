import assert from 'node:assert/strict';
import type { Db } from '../../src/store/database.ts';

/** Buddy's error body, exactly: `{"errors":[{"message": "<something a person can read>"}]}`. */
export function assertBuddyError(body: unknown, context = ''): void {
  const text = JSON.stringify(body);
  assert.ok(
    body !== null && typeof body === 'object' && !Array.isArray(body),
    `${context} error body is not an object: ${text}`,
  );
  assert.deepEqual(Object.keys(body), ['errors'], `${context} error body has other keys: ${text}`);
  const errors = (body as { errors: unknown }).errors;
  assert.ok(
    Array.isArray(errors) && errors.length === 1,
    `${context} errors is not a one-element array: ${text}`,
  );
  const first = errors[0] as unknown;
  assert.ok(first !== null && typeof first === 'object', `${context} errors[0] is not an object: ${text}`);
  assert.deepEqual(Object.keys(first), ['message'], `${context} errors[0] has other keys: ${text}`);
  const message = (first as { message: unknown }).message;
  assert.ok(typeof message === 'string' && message.trim() !== '', `${context} message is empty: ${text}`);
}

/**
 * Every row of every table, for "nothing was stored" comparisons. Tables are discovered, so one added
 * by a later migration is covered without touching this helper. `server_leases` is left out: the server
 * renews its own lease on a clock, whatever requests arrive.
 */
export async function snapshotRows(db: Db): Promise<Record<string, unknown[]>> {
  const tables = (await db.introspection.getTables())
    .map((t) => t.name)
    .filter((name) => !name.startsWith('kysely_') && name !== 'server_leases')
    .sort();
  const out: Record<string, unknown[]> = {};
  // The table names come from the database itself, so the typed builder is told only that they are tables.
  for (const table of tables)
    out[table] = await db
      .selectFrom(table as 'meta')
      .selectAll()
      .execute();
  return out;
}
