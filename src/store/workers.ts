import type { Db } from './database.ts';
import type { ExecutionRow, WorkerRow } from './schema.ts';
import { now, parseJson } from './time.ts';

/** How a worker describes itself when it starts (gantry worker --name --tags --concurrency). */
export interface WorkerInfo {
  name: string;
  tags: string[];
  cpu: 'X64' | 'ARM';
  concurrency: number;
  version: string;
}

export function workerTags(row: WorkerRow): string[] {
  return parseJson<string[]>(row.tags);
}

/** '' is a server's own local runner. */
function describeRunner(worker: string): string {
  return worker === '' ? 'the server' : `worker "${worker}"`;
}

/**
 * Records that `runner` ('' = a server's local runner) now holds the pipeline's filesystem. Returns
 * the note for the run's log when the filesystem was elsewhere (the run then starts from a fresh
 * checkout), null when it stays where it was or the pipeline never ran.
 */
export async function moveFilesystem(db: Db, pipelineId: number, runner: string): Promise<string | null> {
  const at = now();
  const row = await db
    .selectFrom('pipeline_filesystems')
    .select('worker')
    .where('pipeline_id', '=', pipelineId)
    .executeTakeFirst();
  if (row?.worker === runner) return null;
  await db
    .insertInto('pipeline_filesystems')
    .values({ pipeline_id: pipelineId, worker: runner, update_date: at })
    .onConflict((oc) => oc.column('pipeline_id').doUpdateSet({ worker: runner, update_date: at }))
    .execute();
  if (!row) return null;
  return `Gantry: fresh checkout on ${describeRunner(runner)}: the pipeline filesystem and its cache are on ${describeRunner(row.worker)}.`;
}

/** Which runner holds each of these pipelines' filesystems. */
export async function filesystemHolders(
  db: Db,
  pipelineIds: readonly number[],
): Promise<Map<number, string>> {
  if (pipelineIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('pipeline_filesystems')
    .select(['pipeline_id', 'worker'])
    .where('pipeline_id', 'in', pipelineIds)
    .execute();
  return new Map(rows.map((r) => [r.pipeline_id, r.worker]));
}

/** Registers a (re)started worker: a new session with a fresh lease. Returns the row before, if any. */
export async function registerWorker(
  db: Db,
  info: WorkerInfo,
  session: string,
  tokenId: string,
  leaseSeconds: number,
): Promise<WorkerRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('workers')
      .selectAll()
      .where('name', '=', info.name)
      .executeTakeFirst();
    const at = new Date();
    const values = {
      session,
      token_id: tokenId,
      tags: JSON.stringify(info.tags),
      cpu: info.cpu,
      concurrency: info.concurrency,
      version: info.version,
      state: 'ONLINE' as const,
      registered_at: at.toISOString(),
      heartbeat_at: at.toISOString(),
      lease_until: new Date(at.getTime() + leaseSeconds * 1000).toISOString(),
    };
    await trx
      .insertInto('workers')
      .values({ name: info.name, ...values })
      .onConflict((oc) => oc.column('name').doUpdateSet(values))
      .execute();
    return before;
  });
}

export async function getWorker(db: Db, name: string): Promise<WorkerRow | undefined> {
  return db.selectFrom('workers').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listWorkers(db: Db): Promise<WorkerRow[]> {
  return db.selectFrom('workers').selectAll().orderBy('name').execute();
}

/**
 * Extends the lease of the worker's current session. Returns false when the session is not the
 * worker's current one or its lease was already taken (state LOST): the worker must stop what it runs.
 */
export async function renewLease(
  db: Db,
  name: string,
  session: string,
  leaseSeconds: number,
): Promise<boolean> {
  const at = new Date();
  const r = await db
    .updateTable('workers')
    .set({
      heartbeat_at: at.toISOString(),
      lease_until: new Date(at.getTime() + leaseSeconds * 1000).toISOString(),
    })
    .where('name', '=', name)
    .where('session', '=', session)
    .where('state', '=', 'ONLINE')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Takes the lease of an ONLINE worker whose lease ran out: exactly one caller (of all servers) gets
 * true for it, and then ends its executions.
 */
export async function takeExpiredLease(db: Db, name: string, session: string): Promise<boolean> {
  const r = await db
    .updateTable('workers')
    .set({ state: 'LOST' })
    .where('name', '=', name)
    .where('session', '=', session)
    .where('state', '=', 'ONLINE')
    .where('lease_until', '<', now())
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** A worker that stopped cleanly (it finished or gave up what it ran). */
export async function markWorkerStopped(db: Db, name: string, session: string): Promise<void> {
  await db
    .updateTable('workers')
    .set({ state: 'STOPPED' })
    .where('name', '=', name)
    .where('session', '=', session)
    .execute();
}

/** Executions a worker holds that have not ended (from any of its sessions unless one is given). */
export async function executionsOfWorker(db: Db, name: string, session?: string): Promise<ExecutionRow[]> {
  let q = db
    .selectFrom('executions')
    .selectAll()
    .where('worker', '=', name)
    .where('status', 'in', ['INPROGRESS', 'TERMINATING']);
  if (session !== undefined) q = q.where('worker_session', '=', session);
  return q.orderBy('id').execute();
}

/** Sets (or clears) why a queued execution waits; true when it changed. */
export async function setWaitReason(db: Db, executionId: number, reason: string | null): Promise<boolean> {
  const r = await db
    .updateTable('executions')
    .set({ wait_reason: reason })
    .where('id', '=', executionId)
    .where('status', '=', 'ENQUEUED')
    .where((eb) =>
      reason === null
        ? eb('wait_reason', 'is not', null)
        : eb.or([eb('wait_reason', 'is', null), eb('wait_reason', '!=', reason)]),
    )
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
