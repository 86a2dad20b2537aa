import type { Db } from './database.ts';

/** Current time as Buddy formats dates: ISO-8601 UTC with milliseconds. */
export function now(): string {
  return new Date().toISOString();
}

export const toBool = (v: number): boolean => v !== 0;
export const fromBool = (v: boolean): number => (v ? 1 : 0);

/** Parses a JSON column, which this code always wrote itself. */
export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Runs `work` in the caller's transaction when `db` is one, else in a new transaction. */
export function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
