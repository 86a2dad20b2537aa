import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A string field limited to `values` (JSON Schema enum, so errors list the allowed values). */
export function OneOf<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
}

export const Nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
export const ShortString = Type.String({ maxLength: 255 });
export const Tag = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' });

/** Credentials and target of a registry an action pulls from or pushes to. */
export const RegistryFields = {
  login: Nullable(ShortString),
  password: Nullable(Type.String({ maxLength: 10000 })),
  registry: Nullable(ShortString),
  repository: Nullable(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s:@]+$' })),
  integration: Nullable(
    Type.Object(
      { identifier: Type.String({ minLength: 1, maxLength: 255 }) },
      { additionalProperties: true },
    ),
  ),
};
