import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { handleGitHttp, isPushRequest, isSafePathInfo } from '../../repo/index.ts';
import { getProject } from '../../store/projects.ts';
import { getWorkspace } from '../../store/workspaces.ts';
import { diffRefs } from '../../triggers/ref-updates.ts';
import { assertWorkspaceAllowed, authenticate, tokenFromRequest } from '../auth.ts';
import { allows } from '../../domain/access-levels.ts';
import { AccessContext } from '../access/access-context.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, errorBody } from '../errors.ts';

/**
 * Hosted repositories over git's smart HTTP protocol at /git/<workspace>/<project>.git. A token is
 * the password (any user name); fetching needs REPOSITORY_READ, pushing REPOSITORY_WRITE.
 */
export function gitHttpRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // git's request bodies are streamed to http-backend untouched.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  const handler = async (
    request: FastifyRequest<{ Params: { workspace: string; project: string; '*': string } }>,
    reply: FastifyReply,
  ) => {
    const challenge = (status: number, message: string): FastifyReply =>
      reply.status(status).header('www-authenticate', 'Basic realm="Gantry"').send(errorBody(message));
    const { workspace, project: repoName } = request.params;
    const rest = request.params['*'];
    if (!repoName.endsWith('.git')) return reply.status(404).send(errorBody('repository paths end in .git'));
    const [, query = ''] = request.url.split('?', 2);
    const pathInfo = `/${rest}`;
    const push = isPushRequest(pathInfo, query);
    try {
      const principal = await authenticate(ctx.db, tokenFromRequest(request), request.ip);
      request.principal = principal;
      const scope = push ? 'REPOSITORY_WRITE' : 'REPOSITORY_READ';
      if (!principal.scopes.has(scope)) return challenge(403, `token lacks the ${scope} scope`);
      assertWorkspaceAllowed(request, workspace);
    } catch (err) {
      if (err instanceof ApiError) return challenge(err.status, err.message);
      throw err;
    }
    const ws = await getWorkspace(ctx.db, workspace);
    const project = ws && (await getProject(ctx.db, ws.id, repoName.slice(0, -'.git'.length)));
    if (!project || project.custom_repo_url !== null)
      return reply.status(404).send(errorBody(`repository ${workspace}/${repoName} not found`));
    // The caller's repository level in the project: DENIED looks like a missing repository.
    const level = await new AccessContext(ctx.db, request.principal!.user).projectLevel(
      ws,
      project.id,
      'repository_access_level',
    );
    if (level === 'DENIED')
      return reply.status(404).send(errorBody(`repository ${workspace}/${repoName} not found`));
    if (!allows(level, push ? 'READ_WRITE' : 'READ_ONLY'))
      return challenge(403, `pushing needs READ_WRITE access to the repository; you have ${level}`);
    const backendPath = `/${project.id}.git${pathInfo}`;
    if (!isSafePathInfo(backendPath)) return reply.status(400).send(errorBody('invalid repository path'));
    reply.hijack();
    // Only a receive-pack POST can change refs; the cached refs of the project are stale from its
    // start until a sync after its end.
    const changesRefs = request.method === 'POST' && pathInfo.endsWith('/git-receive-pack');
    const serve = async (): Promise<void> => {
      const pushEnded = changesRefs ? ctx.repositories.pushStarted(project.id) : undefined;
      const ended = (): void => {
        if (!pushEnded) return;
        pushEnded();
        // Read the new refs now, so the next run request finds them ready.
        ctx.repositories
          .sync(project)
          .catch((err: unknown) =>
            request.log.warn({ err }, 'reading the refs of a pushed repository failed'),
          );
      };
      try {
        await handleGitHttp({
          projectRoot: ctx.repositories.hostedRoot,
          pathInfo: backendPath,
          method: request.method,
          query,
          contentType: request.headers['content-type'],
          contentEncoding: request.headers['content-encoding'] as string | undefined,
          remoteUser: request.principal?.user.name ?? 'gantry',
          remoteAddr: request.ip,
          body: request.raw,
          res: reply.raw,
          onExit: ended,
          onStderr: (text) => request.log.warn({ git: text }, 'git http-backend'),
        });
      } finally {
        ended(); // also when handleGitHttp failed before git exited
      }
    };
    if (!changesRefs) return serve();
    // A receive-pack: the refs it changed start the pipelines whose events match, as the pusher.
    const { before, after } = await ctx.repositories.receivePush(project.id, serve);
    const pusher = request.principal!.user;
    const updates = diffRefs(before, after);
    void ctx.triggers
      .onRefUpdates(project, updates, pusher.id)
      .catch((err: unknown) => request.log.error({ err, project: project.id }, 'push triggers failed'));
    void ctx.triggers
      .notifyPush(ws!.domain, project, updates, { id: pusher.id, email: pusher.email })
      .catch((err: unknown) => request.log.error({ err, project: project.id }, 'push webhooks failed'));
  };
  app.get('/:workspace/:project/*', { config: { scope: null }, bodyLimit: 1024 * 1024 * 1024 }, handler);
  app.post('/:workspace/:project/*', { config: { scope: null }, bodyLimit: 1024 * 1024 * 1024 }, handler);
}
