import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  commitFile,
  ContentsError,
  defaultBranch,
  entryAt,
  listDirectory,
  readBlob,
  repositoryPath,
  resolveCommit,
  type TreeEntry,
} from '../../repo/contents.ts';
import { readCommitInfo } from '../../repo/revisions.ts';
import { findUserByEmailAddress } from '../../store/identity.ts';
import type { ProjectRow, WorkspaceRow } from '../../store/schema.ts';
import { diffRefs } from '../../triggers/ref-updates.ts';
import { principalOf } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest, conflict, notFound } from '../errors.ts';
import { loadProject } from '../lookup.ts';
import { presentMember } from '../present/identity.ts';
import { AuthQuery, ProjectParams } from '../schemas/common.ts';
import { Links } from '../schemas/identity.ts';
import { ContentList, FileChange } from '../schemas/repository.ts';
import { workspaceAdminIds } from '../../store/members.ts';

const PathParams = Type.Object({ ...ProjectParams.properties, '*': Type.String({ maxLength: 4096 }) });
const GetQuery = Type.Object({
  revision: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  access_token: Type.Optional(Type.String()),
});
/** Buddy's SourceFileOps: `content` is base64, `branch` defaults to the repository's default branch. */
const Base64 = Type.String({ maxLength: 8 * 1024 * 1024, pattern: '^[A-Za-z0-9+/\\s]*={0,2}\\s*$' });
const CreateBody = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: 4096 }),
    content: Base64,
    message: Type.Optional(Type.String({ maxLength: 10_000 })),
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    content: Base64,
    message: Type.Optional(Type.String({ maxLength: 10_000 })),
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    path: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);
const DeleteBody = Type.Union([
  Type.Object(
    {
      message: Type.Optional(Type.String({ maxLength: 10_000 })),
      branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      path: Type.Optional(Type.String({ maxLength: 4096 })),
      content: Type.Optional(Type.String({ maxLength: 0 })),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

const ContentResponse = Type.Object(
  { ...Links, contents: Type.Optional(ContentList) },
  { additionalProperties: true },
);

function contentsError(err: unknown): never {
  if (err instanceof ContentsError) {
    if (err.kind === 'not-found') throw notFound(err.message);
    if (err.kind === 'conflict') throw conflict(err.message);
    throw badRequest(err.message);
  }
  throw err;
}

/**
 * Buddy's repository contents API on hosted repositories: read a directory or a file at any revision,
 * and create, update or delete a file, each change a real commit with the caller as author.
 */
export function repositoryContentsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls, repositories } = ctx;
  const base = '/workspaces/:workspace/projects/:project_name/repository/contents';

  async function hosted(
    request: FastifyRequest,
    params: Static<typeof ProjectParams>,
  ): Promise<{ ws: WorkspaceRow; project: ProjectRow; gitDir: string }> {
    const { ws, project } = await loadProject(db, request, params.workspace, params.project_name);
    if (project.custom_repo_url !== null)
      throw badRequest(
        'not supported yet: the contents API of a custom repository (custom_repo_url); it works on hosted repositories',
      );
    return { ws, project, gitDir: repositories.hostedPath(project.id) };
  }

  const contentUrl = (ws: WorkspaceRow, project: ProjectRow, p: string) =>
    urls.pair(
      `${urls.project(ws.domain, project.name)}/repository/contents/${p.split('/').map(encodeURIComponent).join('/')}`,
    );

  function presentEntry(ws: WorkspaceRow, project: ProjectRow, e: TreeEntry): Record<string, unknown> {
    return {
      ...contentUrl(ws, project, e.path),
      content_type: e.type,
      name: e.name,
      path: e.path,
      size: e.size,
    };
  }

  async function presentFile(
    ws: WorkspaceRow,
    project: ProjectRow,
    gitDir: string,
    e: TreeEntry,
  ): Promise<Record<string, unknown>> {
    const bytes = await readBlob(gitDir, e.sha);
    return { ...presentEntry(ws, project, e), encoding: 'base64', content: bytes.toString('base64') };
  }

  async function presentCommit(ws: WorkspaceRow, project: ProjectRow, gitDir: string, sha: string) {
    const info = await readCommitInfo(gitDir, sha);
    // A Gantry user is shown as a member (Buddy's clients read url, id, email); anyone else by name and e-mail.
    const admins = await workspaceAdminIds(db, ws.id);
    const person = async (name: string, email: string) =>
      presentMember(urls, ws, await findUserByEmailAddress(db, email), admins) ?? { name, email };
    return {
      ...urls.pair(`${urls.project(ws.domain, project.name)}/repository/commits/${info.revision}`),
      revision: info.revision,
      author_date: info.authorDate,
      commit_date: info.commitDate,
      message: info.message,
      author: await person(info.authorName, info.authorEmail),
      committer: await person(info.committerName, info.committerEmail),
    };
  }

  /** Commits like a push: one at a time per repository, refs re-read, push-triggered pipelines started. */
  async function commitAsPush(
    request: FastifyRequest,
    project: ProjectRow,
    change: () => Promise<string>,
  ): Promise<string> {
    const ended = repositories.pushStarted(project.id);
    let commit = '';
    let updates;
    try {
      const { before, after } = await repositories.receivePush(project.id, async () => {
        commit = await change();
      });
      updates = diffRefs(before, after);
    } catch (err) {
      contentsError(err);
    } finally {
      ended();
    }
    await repositories
      .sync(project)
      .catch((err: unknown) => request.log.warn({ err }, 'reading the refs after a contents commit failed'));
    void ctx.triggers
      .onRefUpdates(project, updates, principalOf(request).user.id)
      .catch((err: unknown) => request.log.error({ err, project: project.id }, 'push triggers failed'));
    return commit;
  }

  const read = async (
    request: FastifyRequest,
    params: Static<typeof PathParams>,
    query: Static<typeof GetQuery>,
  ) => {
    const { ws, project, gitDir } = await hosted(request, params);
    let filePath: string;
    try {
      filePath = repositoryPath(params['*'] ?? '');
    } catch (err) {
      return contentsError(err);
    }
    const revision = query.revision ?? (await defaultBranch(gitDir));
    const commit = await resolveCommit(gitDir, revision);
    if (!commit) {
      if (query.revision === undefined && filePath === '') {
        // An empty repository: its root is an empty directory.
        return {
          ...contentUrl(ws, project, ''),
          content_type: 'DIR',
          name: '',
          path: '',
          size: 0,
          contents: [],
        };
      }
      throw notFound(`revision "${revision}" not found`);
    }
    const entry = await entryAt(gitDir, commit, filePath);
    if (!entry) throw notFound(`"${filePath}" not found at ${revision}`);
    if (entry.type !== 'DIR') return presentFile(ws, project, gitDir, entry);
    const children = await listDirectory(gitDir, commit, filePath);
    return {
      ...presentEntry(ws, project, entry),
      contents: children.map((c) => presentEntry(ws, project, c)),
    };
  };

  for (const url of [base, `${base}/*`]) {
    app.get<{ Params: Static<typeof PathParams>; Querystring: Static<typeof GetQuery> }>(
      url,
      {
        config: { scope: 'REPOSITORY_READ', access: 'repository:READ_ONLY' },
        schema: {
          params: url === base ? ProjectParams : PathParams,
          querystring: GetQuery,
          response: { 200: ContentResponse },
        },
      },
      async (request) => read(request, request.params, request.query),
    );
  }

  async function change(
    request: FastifyRequest,
    params: Static<typeof ProjectParams>,
    rawPath: string,
    body: { content?: string | undefined; message?: string | undefined; branch?: string | undefined },
    expect: 'absent' | 'present',
    remove: boolean,
  ): Promise<{ ws: WorkspaceRow; project: ProjectRow; gitDir: string; commit: string; filePath: string }> {
    const { ws, project, gitDir } = await hosted(request, params);
    let filePath: string;
    try {
      filePath = repositoryPath(rawPath);
    } catch (err) {
      return contentsError(err);
    }
    if (filePath === '') throw badRequest('path must name a file');
    const branch = body.branch ?? (await defaultBranch(gitDir));
    const user = principalOf(request).user;
    const content = remove ? null : Buffer.from(body.content ?? '', 'base64');
    const verb = remove ? 'Delete' : expect === 'absent' ? 'Create' : 'Update';
    const commit = await commitAsPush(request, project, () =>
      commitFile(gitDir, {
        branch,
        message: body.message || `${verb} ${filePath}`,
        author: { name: user.name, email: user.email },
        path: filePath,
        content,
        expect,
      }),
    );
    return { ws, project, gitDir, commit, filePath };
  }

  async function answer(r: Awaited<ReturnType<typeof change>>) {
    const entry = await entryAt(r.gitDir, r.commit, r.filePath);
    if (!entry) throw new ApiError(500, 'the committed file is missing');
    return {
      content: await presentFile(r.ws, r.project, r.gitDir, entry),
      commit: await presentCommit(r.ws, r.project, r.gitDir, r.commit),
    };
  }

  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof CreateBody> }>(
    base,
    {
      config: { scope: 'REPOSITORY_WRITE', access: 'repository:READ_WRITE' },
      schema: {
        params: ProjectParams,
        body: CreateBody,
        querystring: AuthQuery,
        response: { 201: FileChange },
      },
    },
    async (request, reply) => {
      const r = await change(request, request.params, request.body.path, request.body, 'absent', false);
      return reply.status(201).send(await answer(r));
    },
  );

  app.put<{ Params: Static<typeof PathParams>; Body: Static<typeof UpdateBody> }>(
    `${base}/*`,
    {
      config: { scope: 'REPOSITORY_WRITE', access: 'repository:READ_WRITE' },
      schema: { params: PathParams, body: UpdateBody, querystring: AuthQuery, response: { 200: FileChange } },
    },
    async (request) => {
      const target = request.params['*'];
      if (request.body.path !== undefined && repositoryPath(request.body.path) !== repositoryPath(target))
        throw badRequest('path in the body differs from the path in the URL; a file is not moved by PUT');
      return answer(await change(request, request.params, target, request.body, 'present', false));
    },
  );

  app.delete<{ Params: Static<typeof PathParams>; Body: Static<typeof DeleteBody> }>(
    `${base}/*`,
    {
      config: { scope: 'REPOSITORY_WRITE', access: 'repository:READ_WRITE' },
      schema: { params: PathParams, body: DeleteBody, querystring: AuthQuery },
    },
    async (request, reply) => {
      await change(request, request.params, request.params['*'], request.body ?? {}, 'present', true);
      return reply.status(204).send();
    },
  );
}
