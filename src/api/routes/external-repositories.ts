import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { getMembership } from '../../store/members.ts';
import { findUserByEmailAddress } from '../../store/identity.ts';
import {
  externalRepository,
  updateExternalRepository,
  type ExternalRepositoryRow,
} from '../../store/external-repositories.ts';
import { getProjectById } from '../../store/projects.ts';
import type { ProjectRow, WorkspaceRow } from '../../store/schema.ts';
import { detectForge, parseForgeBody, readForgeCall, verifyForgeCall } from '../../triggers/forge-push.ts';
import type { ChangeAuthor } from '../../triggers/repository-poller.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest, forbidden } from '../errors.ts';
import { loadProject } from '../lookup.ts';
import { AuthQuery, ProjectParams } from '../schemas/common.ts';

const PatchBody = Type.Object(
  {
    poll_interval: Type.Union([Type.Integer({ minimum: 0, maximum: 7 * 86400 }), Type.Null()], {
      description: 'Seconds between polls of this repository; 0 = never; null = the server setting',
    }),
  },
  { additionalProperties: false },
);

const ExternalRepository = Type.Object({
  url: Type.String(),
  poll_interval: Type.Union([Type.Integer(), Type.Null()]),
  effective_poll_interval: Type.Integer(),
  next_poll_date: Type.Union([Type.String(), Type.Null()]),
  last_poll_date: Type.Union([Type.String(), Type.Null()]),
  last_poll_error: Type.Union([Type.String(), Type.Null()]),
  push_url: Type.String(),
  push_secret_set: Type.Boolean(),
  push_secret: Type.Optional(Type.String()),
});

const PushParams = Type.Object({ project_id: Type.Integer({ minimum: 1, maximum: 2 ** 31 }) });

/** One answer for every refused call, so a caller learns nothing about which part was wrong or whether the project exists. */
const REFUSED = 'the signature or token does not match this project’s push secret';

/** 5 MB: GitHub caps push payloads at 25 MB, but only the headers and the pusher are read. */
const PUSH_BODY_LIMIT = 5 * 1024 * 1024;

/**
 * Per-project settings of an external repository (custom_repo_url): its poll interval and the secret
 * its forge signs push webhooks with; and the inbound push endpoint, `POST
 * /api/trigger/projects/:project_id/push`, that GitHub, GitLab and Gitea call. A verified call makes
 * Gantry fetch the repository and start what its ref changes trigger; any other call changes nothing.
 */
export async function externalRepositoryRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db, urls, secrets } = ctx;
  const path = '/workspaces/:workspace/projects/:project_name/external-repository';
  const poller = ctx.triggers.externalRepositories;

  const pushUrl = (projectId: number) => urls.api(`/trigger/projects/${projectId}/push`);
  const present = (ws: WorkspaceRow, project: ProjectRow, row: ExternalRepositoryRow) => ({
    url: urls.api(`${urls.project(ws.domain, project.name)}/external-repository`),
    poll_interval: row.poll_interval,
    effective_poll_interval: poller.intervalOf(row.poll_interval),
    next_poll_date: row.next_poll_at,
    last_poll_date: row.last_poll_at,
    last_poll_error: row.last_poll_error,
    push_url: pushUrl(project.id),
    push_secret_set: row.push_secret !== null,
  });
  const external = async (
    request: Parameters<typeof loadProject>[1],
    params: Static<typeof ProjectParams>,
  ) => {
    const { ws, project } = await loadProject(db, request, params.workspace, params.project_name);
    if (project.custom_repo_url === null)
      throw badRequest(
        `project "${project.name}" has a repository hosted by Gantry: pushes to it start pipelines directly`,
      );
    return { ws, project };
  };
  const options = {
    config: { scope: 'WORKSPACE', access: 'project:MANAGE' },
    schema: { params: ProjectParams, querystring: AuthQuery, response: { 200: ExternalRepository } },
  } as const;

  app.get<{ Params: Static<typeof ProjectParams> }>(path, options, async (request) => {
    const { ws, project } = await external(request, request.params);
    return present(ws, project, await externalRepository(db, project.id));
  });

  app.patch<{ Params: Static<typeof ProjectParams>; Body: Static<typeof PatchBody> }>(
    path,
    { ...options, schema: { ...options.schema, body: PatchBody } },
    async (request) => {
      const { ws, project } = await external(request, request.params);
      await externalRepository(db, project.id);
      // The next poll follows the new interval from now on.
      await updateExternalRepository(db, project.id, {
        poll_interval: request.body.poll_interval,
        next_poll_at: null,
      });
      poller.poke();
      return present(ws, project, await externalRepository(db, project.id));
    },
  );

  app.post<{ Params: Static<typeof ProjectParams> }>(`${path}/push-secret`, options, async (request) => {
    const { ws, project } = await external(request, request.params);
    const row = await externalRepository(db, project.id);
    const secret = randomBytes(24).toString('base64url');
    await updateExternalRepository(db, project.id, { push_secret: secrets.seal(secret) });
    // The refs now are what the forge's first call is compared with (an unreachable repository
    // leaves that to the first call or poll that reaches it; the error shows in last_poll_error).
    if (row.refs === null || row.source !== project.custom_repo_url)
      await poller.check(project, null).catch(() => undefined);
    return { ...present(ws, project, await externalRepository(db, project.id)), push_secret: secret };
  });

  // Signatures are computed over the exact bytes sent, so this route gets the raw body.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: PUSH_BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    raw.post<{ Params: Static<typeof PushParams> }>(
      '/trigger/projects/:project_id/push',
      { config: { scope: null }, bodyLimit: PUSH_BODY_LIMIT, schema: { params: PushParams, hide: true } },
      async (request) => {
        const forge = detectForge(request.headers);
        if (!forge)
          throw badRequest(
            'not a push webhook of GitHub, GitLab or Gitea (no X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event header)',
          );
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const project = await getProjectById(db, request.params.project_id);
        if (!project || project.custom_repo_url === null || project.status !== 'ACTIVE')
          throw forbidden(REFUSED);
        const row = await externalRepository(db, project.id);
        if (
          row.push_secret === null ||
          !verifyForgeCall(forge, request.headers, rawBody, secrets.open(row.push_secret))
        )
          throw forbidden(REFUSED);
        const payload = parseForgeBody(rawBody, request.headers['content-type']);
        if (payload === null) throw badRequest('the body is not the JSON of a push webhook');
        const call = readForgeCall(forge, request.headers, payload);
        if (call.kind !== 'push') return { forge, event: call.event, checked: false };
        const author = await memberByEmail(project, call.pusherEmail);
        let result;
        try {
          result = await poller.check(project, author);
        } catch (err) {
          throw new ApiError(502, `cannot fetch the repository: ${(err as Error).message}`);
        }
        return {
          forge,
          event: call.event,
          checked: true,
          refs: result.updates,
          executions: result.started.map((e) => ({ id: e.id, pipeline_id: e.pipeline_id, status: e.status })),
        };
      },
    );
  });

  /** The workspace member with the pusher's e-mail, who then is the runs' creator; null when there is none. */
  async function memberByEmail(project: ProjectRow, email: string | null): Promise<ChangeAuthor | null> {
    if (!email) return null;
    const user = await findUserByEmailAddress(db, email);
    if (!user || !(await getMembership(db, project.workspace_id, user.id))) return null;
    return { id: user.id, email: user.email };
  }
}
