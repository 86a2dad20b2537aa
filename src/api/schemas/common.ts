import { Type, type TUnsafe } from '@sinclair/typebox';

export const Name = Type.String({ minLength: 1, maxLength: 255 });
export const Flag = Type.Boolean();

export const WorkspaceParams = Type.Object({ workspace: Type.String({ maxLength: 255 }) });
export const ProjectParams = Type.Object({
  workspace: Type.String({ maxLength: 255 }),
  project_name: Type.String({ maxLength: 255 }),
});
export const PipelineParams = Type.Object({
  workspace: Type.String({ maxLength: 255 }),
  project_name: Type.String({ maxLength: 255 }),
  pipeline_id: Type.String({ maxLength: 32 }),
});
export const ActionParams = Type.Object({
  workspace: Type.String({ maxLength: 255 }),
  project_name: Type.String({ maxLength: 255 }),
  pipeline_id: Type.String({ maxLength: 32 }),
  action_id: Type.String({ maxLength: 32 }),
});

export const PageQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  access_token: Type.Optional(Type.String()),
});

export const AuthQuery = Type.Object({ access_token: Type.Optional(Type.String()) });

/** A string-literal union usable as an enum in request schemas. */
export function OneOf<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** Read-only fields a client may send back from a GET; accepted and ignored. */
export const ReadOnlyEcho = {
  url: Type.Optional(Type.Unknown()),
  html_url: Type.Optional(Type.Unknown()),
  id: Type.Optional(Type.Unknown()),
  create_date: Type.Optional(Type.Unknown()),
};

export const InlineVariableSchema = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    value: Type.String({ maxLength: 65536 }),
    encrypted: Type.Optional(Type.Boolean()),
    settable: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    type: Type.Optional(Type.Unsafe<'VAR'>({ type: 'string', enum: ['VAR'] })),
  },
  { additionalProperties: false },
);
