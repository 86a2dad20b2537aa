import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);
let driver: typeof pg | null = null;

/**
 * The PostgreSQL driver, loaded at its first use: a server on SQLite (the default) never loads it,
 * which keeps about 4 MB of code and a tenth of a second out of its start.
 */
export function pgDriver(): typeof pg {
  return (driver ??= require('pg') as typeof pg);
}
