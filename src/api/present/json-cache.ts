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

/**
 * Whole answers as the bytes sent, reused the same way as PresentedJsonCache: an entry serves a request
 * only when every value it was made from (every column of every row read, the page's numbers) equals
 * what this request just read. What it spares on top of the per-item JSON is presenting what the items
 * share (creator, project, the list's head), joining, and encoding the body to UTF-8 on each send.
 * Bounded by the bytes it holds (`maxBytes`); past it the oldest entries go.
 */
export class PresentedBytesCache<K> {
  private readonly entries = new Map<K, { inputs: readonly unknown[]; bytes: Buffer }>();
  private held = 0;

  constructor(private readonly maxBytes = 8 * 1024 * 1024) {}

  /** The bytes of the JSON built from `inputs` (compared with `===`, as in PresentedJsonCache). */
  bytes(key: K, inputs: readonly unknown[], build: () => string): Buffer {
    const hit = this.entries.get(key);
    if (hit && sameInputs(hit.inputs, inputs)) return hit.bytes;
    const bytes = Buffer.from(build());
    if (hit) this.forget(key, hit.bytes);
    if (bytes.length <= this.maxBytes) {
      while (this.held + bytes.length > this.maxBytes) {
        const [oldest, entry] = this.entries.entries().next().value!;
        this.forget(oldest, entry.bytes);
      }
      this.entries.set(key, { inputs, bytes });
      this.held += bytes.length;
    }
    return bytes;
  }

  private forget(key: K, bytes: Buffer): void {
    this.entries.delete(key);
    this.held -= bytes.length;
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
 * Sends a JSON body (text, or its UTF-8 bytes) the route serialised itself, with serialisers compiled from its own response
 * schema (reply.compileSerializationSchema: the same compiler Fastify uses, so the bytes are those
 * Fastify would have written from the object). `presented` builds that object the plain way; it is
 * called only when the tests' response check is on (buildApp's checkResponseSchemas), which then
 * proves the fast path sends exactly what the presenter and the schema would.
 */
export function sendSerialized(
  reply: FastifyReply,
  json: string | Buffer,
  presented: () => unknown,
): FastifyReply {
  reply.request.presented = presented;
  return reply.type('application/json; charset=utf-8').send(json);
}
