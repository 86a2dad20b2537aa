import { sql } from 'kysely';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { Db } from '../store/database.ts';
import { freeBytes } from './data-dir.ts';
import { withTimeout } from './preflight.ts';

export interface ReadinessDeps {
  db: Db;
  runtime: ContainerRuntime;
  dataDir: string;
  minFreeDiskMb: number;
  /** True once a graceful stop began: a load balancer should send new work elsewhere. */
  draining: () => boolean;
}

export interface Readiness {
  ready: boolean;
  /** One entry per dependency: "ok" or why not. Deliberately free of paths, hosts and error details. */
  checks: { database: string; docker: string; disk: string; server: string };
}

const CHECK_TIMEOUT_MS = 3000;

/**
 * Whether this server can do its work now: the database answers, the Docker engine answers, the data
 * directory has at least `minFreeDiskMb` free, and it is not draining. The checks run in parallel,
 * each bounded by a timeout, so a hung engine makes the probe fail rather than hang.
 */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const [database, docker, disk] = await Promise.all([
    withTimeout(sql`select 1`.execute(deps.db), CHECK_TIMEOUT_MS, 'database').then(
      () => 'ok',
      () => 'the database does not answer',
    ),
    withTimeout(deps.runtime.ping(), CHECK_TIMEOUT_MS, 'docker').then(
      () => 'ok',
      () => 'the Docker engine does not answer',
    ),
    Promise.resolve().then(() => {
      try {
        const freeMb = Math.floor(freeBytes(deps.dataDir) / 1024 / 1024);
        return freeMb >= deps.minFreeDiskMb
          ? 'ok'
          : `${freeMb} MB free in the data directory, below the ${deps.minFreeDiskMb} MB minimum`;
      } catch {
        return 'the data directory cannot be examined';
      }
    }),
  ]);
  const server = deps.draining() ? 'draining: the server is shutting down' : 'ok';
  const checks = { database, docker, disk, server };
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}
