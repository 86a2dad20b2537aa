import type { FastifyReply } from 'fastify';

/**
 * The serialised JSON of presented rows, reused while everything it was made from is unchanged. An
 * entry keeps the inputs it was built from (every column of the row as read, and whatever else the
 * presenter used: the nesting objects' own JSON, names in its URLs) and serves a request only when that
 * request's freshly read inputs are equal one by one. So there is nothing to invalidate and nothing can
 * be stale: any write, by this process, its engine or another server on the same database, changes an
 * input the next read sees. What it spares is presenting and serialising (the per-field schema walk)
 * each row of a list again; the rows are still read on every request.
 */
export class PresentedJsonCache<K> {
  private readonly entries = new Map<K, { inputs: readonly unknown[]; json: string }>();

  /** `maxEntries` bounds memory; past it the oldest entry goes. */
  constructor(private readonly maxEntries = 10_000) {}

  /** The JSON built from `inputs` (compared with `===`, so strings, numbers, booleans and null). */
  json(key: K, inputs: readonly unknown[], build: () => string): string {
    const hit = this.entries.get(key);
    if (hit && sameInputs(hit.inputs, inputs)) return hit.json;
    const json = build();
    if (hit) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { inputs, json });
    return json;
  }

  get size(): number {
    return this.entries.size;
  }
}

function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by sendSerialized: builds the object a pre-serialised body stands for (for the tests' check). */
    presented: (() => unknown) | null;
  }
}

/**
 * Sends a JSON body the route serialised itself, with serialisers compiled from its own response
 * schema (reply.compileSerializationSchema: the same compiler Fastify uses, so the bytes are those
 * Fastify would have written from the object). `presented` builds that object the plain way; it is
 * called only when the tests' response check is on (buildApp's checkResponseSchemas), which then
 * proves the fast path sends exactly what the presenter and the schema would.
 */
export function sendSerialized(reply: FastifyReply, json: string, presented: () => unknown): FastifyReply {
  reply.request.presented = presented;
  return reply.type('application/json; charset=utf-8').send(json);
}
