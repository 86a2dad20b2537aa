import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './database.ts';

/** Stands for the i-th argument while a query is built once. */
class Slot {
  constructor(readonly index: number) {}
}

interface Compiled {
  sql: string;
  /** Per parameter: the argument it takes (index) or a value fixed when the query was built. */
  parameters: (number | { fixed: unknown })[];
}

/**
 * A query of a fixed shape, built and compiled by Kysely once per database handle and then run with
 * new argument values. Building and compiling cost as much as running a simple lookup (measured on the
 * hot GETs), and the statement cache in database.ts already reuses the prepared statement for the SQL.
 * `build` must use each argument as one bound value (no `in` lists, nothing that changes the SQL).
 * Compiled by the handle's own dialect, so it is as portable as the builder code.
 */
export function reusableQuery<A extends unknown[], R>(
  arity: A['length'],
  build: (db: Db, ...args: A) => Compilable<R>,
): (db: Db, ...args: A) => Promise<R[]> {
  const compiled = new WeakMap<Db, Compiled>();
  return async (db, ...args) => {
    let c = compiled.get(db);
    if (!c) {
      const slots = Array.from({ length: arity }, (_, i) => new Slot(i)) as unknown as A;
      const query = build(db, ...slots).compile();
      const parameters = query.parameters.map((p) => (p instanceof Slot ? p.index : { fixed: p }));
      const used = new Set(parameters.filter((p): p is number => typeof p === 'number'));
      if (used.size !== arity) throw new Error(`reusableQuery: ${used.size} of ${arity} arguments bound`);
      c = { sql: query.sql, parameters };
      compiled.set(db, c);
    }
    const values = c.parameters.map((p) => (typeof p === 'number' ? args[p] : p.fixed));
    return (await db.executeQuery<R>(CompiledQuery.raw(c.sql, values))).rows;
  };
}
