import { Type } from '@sinclair/typebox';
import { Links, Nullable } from './identity.ts';

const Grant = Type.Object({ id: Type.Integer(), access_level: Type.String() });

export const Integration = Type.Object(
  {
    ...Links,
    identifier: Type.String(),
    hash_id: Type.String(),
    name: Type.String(),
    type: Type.String(),
    auth_type: Type.String(),
    scope: Type.String(),
    project_name: Type.String({ description: '"" for a WORKSPACE integration' }),
    username: Nullable(Type.String()),
    password: Nullable(
      Type.String({ description: 'registry types only, and only sealed ("!encrypted ...")' }),
    ),
    host: Nullable(Type.String()),
    shop: Type.Optional(Type.String()),
    audience: Type.Optional(Type.String()),
    app_id: Type.Optional(Type.String()),
    tenant_id: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    google_project: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    role_assumptions: Type.Array(
      Type.Object({
        arn: Type.String(),
        external_id: Type.Optional(Type.String()),
        duration: Type.Optional(Type.Integer()),
      }),
    ),
    all_pipelines_allowed: Type.Boolean(),
    allowed_pipelines: Type.Array(
      Type.Object({
        id: Type.Integer(),
        name: Type.Optional(Type.String()),
        url: Type.Optional(Type.String()),
        html_url: Type.Optional(Type.String()),
      }),
    ),
    permissions: Nullable(
      Type.Object({
        admins: Type.String(),
        others: Type.String(),
        users: Type.Array(Grant),
        groups: Type.Array(Grant),
      }),
    ),
    create_date: Type.String(),
  },
  { title: 'Integration' },
);

export const IntegrationList = Type.Object({ ...Links, integrations: Type.Array(Integration) });
