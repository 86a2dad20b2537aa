import { Type } from '@sinclair/typebox';
import { Links } from './identity.ts';

export const ContentEntry = Type.Object(
  {
    ...Links,
    content_type: Type.String({ description: 'FILE, DIR, SYMLINK or SUB_MODULE' }),
    name: Type.String(),
    path: Type.String({ description: 'from the repository root, no leading slash' }),
    size: Type.Integer(),
    encoding: Type.Optional(Type.String()),
    content: Type.Optional(Type.String({ description: 'base64, files only' })),
  },
  { title: 'RepositoryContent' },
);
export const ContentList = Type.Array(ContentEntry);

/** A Gantry user as a member; someone else (a pushed commit's author) by name and e-mail only. */
const Person = Type.Object({
  url: Type.Optional(Type.String()),
  html_url: Type.Optional(Type.String()),
  id: Type.Optional(Type.Integer()),
  name: Type.String(),
  email: Type.String(),
  avatar_url: Type.Optional(Type.String()),
  admin: Type.Optional(Type.Boolean()),
  workspace_owner: Type.Optional(Type.Boolean()),
  auto_assign_to_new_projects: Type.Optional(Type.Boolean()),
});
export const Commit = Type.Object(
  {
    ...Links,
    revision: Type.String(),
    author_date: Type.String(),
    commit_date: Type.String(),
    message: Type.String(),
    author: Person,
    committer: Person,
  },
  { title: 'RepositoryCommit' },
);

export const FileChange = Type.Object({ content: ContentEntry, commit: Commit });
