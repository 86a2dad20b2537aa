import type { InlineVariable } from '../domain/pipeline.ts';
import { ExecutionVariables, type Sealer, type VariablesSnapshot } from './execution-variables.ts';
import type { Workload } from './runner-peer.ts';

/**
 * What crosses the wire between a server and a remote worker (gantry worker), shared by both ends.
 *
 * Lease: a worker heartbeats at least every HEARTBEAT_SECONDS (its heartbeat is a long-poll that the
 * server answers at once when one of the worker's executions is cancelled, else after
 * HEARTBEAT_SECONDS); a server takes the lease of a worker it has not heard from for LEASE_SECONDS and
 * ends that worker's executions. Six missed heartbeats ride out a GC pause, a slow disk or a short
 * network cut (and a server restart: a server gives workers LEASE_SECONDS after its own start before
 * taking any lease), while a SIGKILLed worker's executions end within about a minute.
 */
export const LEASE_SECONDS = 60;
export const HEARTBEAT_SECONDS = 10;
/** How long a worker's request for work waits for an execution before answering "none". */
export const POLL_SECONDS = 25;
/** Header naming the worker session on every worker request (beside the WORKER token). */
export const SESSION_HEADER = 'x-gantry-worker-session';
/** Headers of a pinned package version's archive sent to a worker: its sha256 (hex) and tar | tar.gz. */
export const PACKAGE_SHA256_HEADER = 'x-gantry-package-sha256';
export const PACKAGE_FORMAT_HEADER = 'x-gantry-package-format';

/** A workload as JSON: the variables as a snapshot of clear values. */
export type WireWorkload = Omit<Workload, 'variables'> & { variables: VariablesSnapshot };

export function toWire(work: Workload): WireWorkload {
  return { ...work, variables: work.variables.snapshot() };
}

export function fromWire(wire: WireWorkload, box: Sealer): Workload {
  return { ...wire, variables: ExecutionVariables.fromSnapshot(box, wire.variables) };
}

const TRANSIT = 'gantry-transit:';

/**
 * A worker holds no secret key: the values it would seal (encrypted outputs, passed variables, a
 * settable variable's new value) travel marked instead, and the server seals them (resealed()).
 */
export class TransitBox implements Sealer {
  seal(plain: string): string {
    return TRANSIT + plain;
  }

  open(sealed: string): string {
    return sealed.startsWith(TRANSIT) ? sealed.slice(TRANSIT.length) : sealed;
  }
}

/** The server's side of TransitBox: a secret a worker sent (marked or not), sealed with the server's key. */
export function resealed(value: string, seal: (plain: string) => string): string {
  return seal(value.startsWith(TRANSIT) ? value.slice(TRANSIT.length) : value);
}

export function resealedVariables(
  vars: readonly InlineVariable[],
  seal: (plain: string) => string,
): InlineVariable[] {
  return vars.map((v) => (v.encrypted ? { ...v, value: resealed(v.value, seal) } : v));
}
