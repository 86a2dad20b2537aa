import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { getProject } from '../../store/projects.ts';
import type { WorkspaceRow } from '../../store/schema.ts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhooks,
  recentDeliveries,
  updateWebhook,
  type WebhookRow,
} from '../../store/webhooks.ts';
import { WEBHOOK_EVENTS } from '../../triggers/webhook-outbox.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, notFound } from '../errors.ts';
import { loadWorkspace, numericId } from '../lookup.ts';
import { AuthQuery, OneOf, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { Webhook, WebhookList } from '../schemas/webhook.ts';

const Fields = {
  events: Type.Optional(
    Type.Union([Type.Array(OneOf(WEBHOOK_EVENTS), { maxItems: WEBHOOK_EVENTS.length }), Type.Null()]),
  ),
  projects: Type.Optional(
    Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 200 }), Type.Null()]),
  ),
  target_url: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()])),
  secret_key: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
};
const Body = Type.Object(
  { ...Fields, ...ReadOnlyEcho, requests: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);
const IdParams = Type.Object({
  workspace: Type.String({ maxLength: 255 }),
  id: Type.String({ maxLength: 32 }),
});
type BodyT = Static<typeof Body>;

function checkTarget(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('target_url must be an absolute http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw badRequest('target_url must be an absolute http:// or https:// URL');
  // Stored as sent: Buddy's clients compare the echo with what they sent (no added trailing slash).
  return url;
}

/**
 * Workspace webhooks (Buddy §C.11): outgoing notifications of pushes and execution status changes,
 * delivered from an outbox (see triggers/webhook-dispatcher.ts). `secret_key` is returned in clear,
 * as Buddy does; only workspace administrators see webhooks.
 */
export function webhookRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const base = '/workspaces/:workspace/webhooks';
  const path = (ws: WorkspaceRow, id?: number) =>
    `${urls.workspace(ws.domain)}/webhooks${id === undefined ? '' : `/${id}`}`;

  async function present(ws: WorkspaceRow, w: WebhookRow): Promise<Record<string, unknown>> {
    const deliveries = await recentDeliveries(db, w.id);
    return {
      ...urls.pair(path(ws, w.id)),
      id: w.id,
      target_url: w.target_url,
      secret_key: w.secret_key ? ctx.secrets.open(w.secret_key) : '',
      projects: JSON.parse(w.projects) as string[],
      events: JSON.parse(w.events) as string[],
      requests: deliveries.map((d) => ({
        post_date: d.post_date,
        response_status: d.response_status ?? '',
        body: d.payload,
        event: d.event,
        attempts: d.attempts,
        status: d.status,
      })),
    };
  }

  async function checkProjects(ws: WorkspaceRow, names: readonly string[]): Promise<void> {
    for (const name of names)
      if (!(await getProject(db, ws.id, name))) throw badRequest(`projects: project "${name}" not found`);
  }

  async function load(request: FastifyRequest, params: Static<typeof IdParams>) {
    const ws = await loadWorkspace(db, request, params.workspace);
    const w = await getWebhook(db, ws.id, numericId(params.id, 'webhook'));
    if (!w) throw notFound(`webhook ${params.id} not found`);
    return { ws, w };
  }

  app.get<{ Params: Static<typeof WorkspaceParams> }>(
    base,
    {
      config: { scope: 'WEBHOOK_INFO', access: 'workspace:MANAGE' },
      schema: { params: WorkspaceParams, querystring: AuthQuery, response: { 200: WebhookList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const rows = await listWebhooks(db, ws.id);
      const webhooks = [];
      for (const w of rows) webhooks.push(await present(ws, w));
      return { ...urls.pair(path(ws)), webhooks };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: BodyT }>(
    base,
    {
      config: { scope: 'WEBHOOK_ADD', access: 'workspace:MANAGE' },
      schema: { params: WorkspaceParams, querystring: AuthQuery, body: Body, response: { 201: Webhook } },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const b = request.body;
      if (!b.target_url) throw badRequest('field "target_url" is required');
      if (!b.events || b.events.length === 0) throw badRequest('field "events" needs at least one event');
      await checkProjects(ws, b.projects ?? []);
      const w = await createWebhook(db, {
        workspace_id: ws.id,
        target_url: checkTarget(b.target_url),
        secret_key: b.secret_key ? ctx.secrets.seal(b.secret_key) : null,
        events: JSON.stringify([...new Set(b.events)]),
        projects: JSON.stringify(b.projects ?? []),
      });
      return reply.status(201).send(await present(ws, w));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    `${base}/:id`,
    {
      config: { scope: 'WEBHOOK_INFO', access: 'workspace:MANAGE' },
      schema: { params: IdParams, querystring: AuthQuery, response: { 200: Webhook } },
    },
    async (request) => {
      const { ws, w } = await load(request, request.params);
      return present(ws, w);
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: BodyT }>(
    `${base}/:id`,
    {
      config: { scope: 'WEBHOOK_MANAGE', access: 'workspace:MANAGE' },
      schema: { params: IdParams, querystring: AuthQuery, body: Body, response: { 200: Webhook } },
    },
    async (request) => {
      const { ws, w } = await load(request, request.params);
      const b = request.body;
      const set: Parameters<typeof updateWebhook>[2] = {};
      if (b.target_url != null) set.target_url = checkTarget(b.target_url);
      if (b.secret_key != null) set.secret_key = b.secret_key === '' ? null : ctx.secrets.seal(b.secret_key);
      if (b.events != null) {
        if (b.events.length === 0) throw badRequest('field "events" needs at least one event');
        set.events = JSON.stringify([...new Set(b.events)]);
      }
      if (b.projects != null) {
        await checkProjects(ws, b.projects);
        set.projects = JSON.stringify(b.projects);
      }
      const updated = Object.keys(set).length > 0 ? await updateWebhook(db, w.id, set) : w;
      return present(ws, updated);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    `${base}/:id`,
    {
      config: { scope: 'WEBHOOK_MANAGE', access: 'workspace:MANAGE' },
      schema: { params: IdParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { w } = await load(request, request.params);
      await deleteWebhook(db, w.id);
      return reply.status(204).send();
    },
  );
}
