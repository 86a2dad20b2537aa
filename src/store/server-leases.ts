import type { Db } from './database.ts';
import type { ExecutionRow, ServerLeaseRow } from './schema.ts';
import { now } from './time.ts';

function leaseFields(leaseSeconds: number): { heartbeat_at: string; lease_until: string } {
  const at = new Date();
  return {
    heartbeat_at: at.toISOString(),
    lease_until: new Date(at.getTime() + leaseSeconds * 1000).toISOString(),
  };
}

/** A server starts (before its local runner claims anything): its lease, ONLINE, from now. */
export async function holdServerLease(db: Db, session: string, leaseSeconds: number): Promise<void> {
  const values = { state: 'ONLINE' as const, started_at: now(), ...leaseFields(leaseSeconds) };
  await db
    .insertInto('server_leases')
    .values({ session, ...values })
    .onConflict((oc) => oc.column('session').doUpdateSet(values))
    .execute();
}

/**
 * The server's heartbeat. Returns false when its lease was taken (it was not heard from for the lease
 * time, and another server ended its local runs): what it still runs is no longer its own.
 */
export async function renewServerLease(db: Db, session: string, leaseSeconds: number): Promise<boolean> {
  const r = await db
    .updateTable('server_leases')
    .set(leaseFields(leaseSeconds))
    .where('session', '=', session)
    .where('state', '=', 'ONLINE')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** A server that stops cleanly (its runs were ended first). */
export async function releaseServerLease(db: Db, session: string): Promise<void> {
  await db.updateTable('server_leases').set({ state: 'STOPPED' }).where('session', '=', session).execute();
}

/** Other servers' leases that ran out while ONLINE. */
export async function expiredServerLeases(db: Db, ownSession: string): Promise<ServerLeaseRow[]> {
  return db
    .selectFrom('server_leases')
    .selectAll()
    .where('state', '=', 'ONLINE')
    .where('lease_until', '<', now())
    .where('session', '!=', ownSession)
    .execute();
}

/** Takes an expired lease: exactly one caller (of all servers) gets true, and ends that server's runs. */
export async function takeServerLease(db: Db, session: string): Promise<boolean> {
  const r = await db
    .updateTable('server_leases')
    .set({ state: 'LOST' })
    .where('session', '=', session)
    .where('state', '=', 'ONLINE')
    .where('lease_until', '<', now())
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** What a server's local runner (session `local:<label>`) is running. */
export async function localRunsOf(db: Db, session: string): Promise<ExecutionRow[]> {
  return db
    .selectFrom('executions')
    .selectAll()
    .where('worker', 'is', null)
    .where('worker_session', '=', session)
    .where('status', 'in', ['INPROGRESS', 'TERMINATING'])
    .execute();
}
