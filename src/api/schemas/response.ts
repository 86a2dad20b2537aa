import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Helpers for response schemas. Fastify serialises a response with fast-json-stringify from its
 * schema: faster than JSON.stringify, but a property the schema does not name is dropped and a value
 * of another type is coerced, so a schema must say exactly what the presenter returns (the tests
 * check every response against its schema; see buildApp's checkResponseSchemas).
 */

/**
 * A field that may be null, written as OpenAPI 3.0's `nullable`: fast-json-stringify serialises it
 * directly, where an `anyOf` with null makes it try each branch for every value.
 */
export function Nullable<T extends TSchema>(schema: T): T {
  return { ...schema, nullable: true };
}

/** An object whose keys are open (free-form settings); serialised as JSON.stringify would. */
export const OpenObject = (description?: string): TSchema =>
  Type.Object({}, { additionalProperties: true, ...(description ? { description } : {}) });

/** Constraints that only matter when checking input. */
const INPUT_ONLY = new Set([
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'default',
]);

/**
 * The response form of a request schema (or of a map of its properties): `X | null` becomes nullable
 * X, input-only constraints go, and no property is required (stored objects may predate a field).
 * A request field then shows up in responses without being listed twice.
 */
export function responseOf(schema: unknown): TSchema {
  return convert(schema) as TSchema;
}

/** The response form of each property; every one optional (TypeBox's mark, so Type.Object leaves it out of `required`). */
export function responsePropertiesOf(properties: Record<string, unknown>): Record<string, TSchema> {
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, Type.Optional(responseOf(v))]));
}

function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const s = node as Record<string, unknown>;
  const branches = s.anyOf as Record<string, unknown>[] | undefined;
  if (branches) {
    const rest = branches.filter((b) => b.type !== 'null');
    if (rest.length === 1 && rest.length < branches.length)
      return { ...(convert(rest[0]) as object), nullable: true };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s)) {
    if (INPUT_ONLY.has(key) || key === 'required') continue;
    if (key === 'properties')
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, convert(v)]),
      );
    else out[key] = convert(value);
  }
  return out;
}

/** A Server-Sent Events stream (not JSON): documented, never serialised (the route writes the stream itself). */
export const EventStream = {
  description: 'Server-Sent Events',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
};

/** A file download (a package version's archive). */
export const ArchiveDownload = {
  description: 'the archive (.tar or .tar.gz)',
  content: {
    'application/x-tar': { schema: { type: 'string', format: 'binary' } },
    'application/gzip': { schema: { type: 'string', format: 'binary' } },
  },
};
