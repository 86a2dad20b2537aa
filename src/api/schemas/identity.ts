import { Type } from '@sinclair/typebox';
import { Nullable } from './response.ts';

export { Nullable };

/** Response schemas: Fastify serialises from them and the OpenAPI document shows them. */

/** `url` (API address) and `html_url` (web UI page) of every Buddy object. */
export const Links = {
  url: Type.String({ description: 'API address of this object' }),
  html_url: Type.String({ description: 'web UI page of this object' }),
};

export const Member = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    name: Type.String(),
    email: Type.String(),
    avatar_url: Type.String(),
    admin: Type.Boolean(),
    workspace_owner: Type.Boolean(),
    auto_assign_to_new_projects: Type.Boolean(),
  },
  { title: 'Member' },
);

export const Profile = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    name: Type.String(),
    email: Type.String(),
    avatar_url: Type.String(),
    admin: Type.Boolean(),
    workspaces_url: Type.String(),
  },
  { title: 'Profile' },
);

export const Workspace = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    owner_id: Type.Integer(),
    name: Type.String(),
    domain: Type.String(),
    frozen: Type.Boolean(),
    create_date: Type.String(),
  },
  { title: 'Workspace' },
);
export const WorkspaceList = Type.Object({ ...Links, workspaces: Type.Array(Workspace) });

export const Token = Type.Object(
  {
    ...Links,
    id: Type.String(),
    name: Type.String(),
    token: Nullable(Type.String({ description: 'the secret; only in the answer to its creation' })),
    expires_at: Nullable(Type.String()),
    scopes: Type.Array(Type.String()),
    ip_restrictions: Type.Array(Type.String()),
    workspace_restrictions: Type.Array(Type.String()),
    create_date: Type.String(),
  },
  { title: 'Token' },
);
export const TokenList = Type.Object({ ...Links, access_tokens: Type.Array(Token) });

export const Email = Type.Object({ email: Type.String(), confirmed: Type.Boolean() }, { title: 'Email' });
export const EmailList = Type.Object({ emails: Type.Array(Email) });

export const PublicKey = Type.Object(
  { ...Links, id: Type.Integer(), title: Type.String(), content: Type.String() },
  { title: 'PublicKey' },
);
export const PublicKeyList = Type.Object({ ...Links, keys: Type.Array(PublicKey) });

export const StreamTicket = Type.Object(
  {
    ticket: Type.String(),
    path: Type.String(),
    expires_in: Type.Integer({ description: 'seconds' }),
    expires_at: Type.String(),
  },
  { title: 'StreamTicket' },
);

export const PasswordSet = Type.Object({ email: Type.String(), name: Type.String() });
