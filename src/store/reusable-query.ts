import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './database.ts';
import { arrayRowsQuery } from './sqlite-busy.ts';

/** Stands for the i-th argument while a query is built once. */
class Slot {
  constructor(readonly index: number) {}
}

interface Compiled {
  sql: string;
  /** Per parameter: the argument it takes (index) or a value fixed when the query was built. */
  parameters: (number | { fixed: unknown })[];
}

/** Builds `build`'s query once per database handle; the function returned gives its SQL and values. */
function compiledOnce<A extends unknown[]>(
  arity: A['length'],
  build: (db: Db, ...args: A) => Compilable<unknown>,
): (db: Db, args: A) => { sql: string; values: unknown[] } {
  const compiled = new WeakMap<Db, Compiled>();
  return (db, args) => {
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
    return { sql: c.sql, values: c.parameters.map((p) => (typeof p === 'number' ? args[p] : p.fixed)) };
  };
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
  const compile = compiledOnce(arity, build);
  return async (db, ...args) => {
    const { sql, values } = compile(db, args);
    return (await db.executeQuery<R>(CompiledQuery.raw(sql, values))).rows;
  };
}

/**
 * reusableQuery with each row as the array of its columns' values, in the order `build` selects them
 * (SQLite hands them so without building an object per row; see arrayRowsQuery). Every selected
 * column needs its own name: on PostgreSQL the rows are objects first.
 */
export function reusableArrayQuery<A extends unknown[]>(
  arity: A['length'],
  build: (db: Db, ...args: A) => Compilable<unknown>,
): (db: Db, ...args: A) => Promise<unknown[][]> {
  const compile = compiledOnce(arity, build);
  return async (db, ...args) => {
    const { sql, values } = compile(db, args);
    const { rows } = await db.executeQuery<unknown>(arrayRowsQuery(sql, values));
    if (rows.length === 0 || Array.isArray(rows[0])) return rows as unknown[][];
    return rows.map((row) => Object.values(row as object));
  };
}
