import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { latestEventId, workspaceEventsSince } from '../../store/executions.ts';
import { getPipelineById } from '../../store/pipelines.ts';
import { accessOf } from '../access/route-access.ts';
import { principalOf } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { badRequest } from '../errors.ts';
import { loadWorkspace } from '../lookup.ts';
import { STREAM_TICKET_TTL_MS, type StreamTickets } from '../stream-tickets.ts';
import { lastEventId, StreamQuery, streamEvents } from './executions.ts';
import { StreamTicket } from '../schemas/identity.ts';
import { EventStream } from '../schemas/response.ts';

const TicketBody = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'the URL path of the event stream the ticket opens, e.g. /api/workspaces/acme/events',
    }),
  },
  { additionalProperties: false },
);

/**
 * Event streams for the web UI: single-use stream tickets (EventSource cannot send the token in a
 * header) and one stream per workspace carrying every execution's status changes.
 */
export function streamRoutes(app: FastifyInstance, ctx: ApiContext, tickets: StreamTickets): void {
  const { db, engine } = ctx;
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of openStreams) end();
  });

  app.post<{ Body: Static<typeof TicketBody> }>(
    '/user/stream_tickets',
    {
      config: { scope: 'EXECUTION_INFO', access: 'user' },
      schema: { body: TicketBody, response: { 200: StreamTicket } },
    },
    async (request) => {
      const path = request.body.path;
      if (!path.startsWith('/') || path.includes('?') || path.includes('#'))
        throw badRequest('path: an absolute URL path without query, e.g. /api/workspaces/acme/events');
      const { ticket, expiresAt } = await tickets.issue(principalOf(request).token.id, path);
      return {
        ticket,
        path,
        expires_in: STREAM_TICKET_TTL_MS / 1000,
        expires_at: new Date(expiresAt).toISOString(),
      };
    },
  );

  // Server-Sent Events: status changes of every execution in a workspace (event "execution", data
  // {execution_id, pipeline_id, project_name, status}), resumable with Last-Event-ID.
  app.get<{ Params: { workspace: string }; Querystring: Static<typeof StreamQuery> }>(
    '/workspaces/:workspace/events',
    {
      config: { scope: 'EXECUTION_INFO', stream: true, access: 'workspace:READ_ONLY' },
      schema: {
        params: Type.Object({ workspace: Type.String({ maxLength: 255 }) }),
        querystring: StreamQuery,
        response: { 200: EventStream },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      // Events of pipelines the caller may not see are skipped (decided once per pipeline per stream).
      const access = accessOf(request);
      const visible = new Map<number, boolean>();
      const canSee = async (pipelineId: number): Promise<boolean> => {
        if (await access.manages(ws)) return true;
        let seen = visible.get(pipelineId);
        if (seen === undefined) {
          const pipeline = await getPipelineById(db, pipelineId);
          seen = pipeline !== undefined && (await access.pipelineLevel(ws, pipeline)) !== 'DENIED';
          visible.set(pipelineId, seen);
        }
        return seen;
      };
      const resume = lastEventId(request);
      let last = resume === undefined ? await latestEventId(db) : Number(resume) || 0;
      await streamEvents(
        openStreams,
        request,
        reply,
        engine.changes,
        'execution',
        () => true,
        async (send) => {
          for (;;) {
            const events = await workspaceEventsSince(db, ws.id, last);
            for (const ev of events) {
              last = ev.id;
              if (!(await canSee(ev.pipeline_id))) continue;
              const payload = JSON.parse(ev.payload) as Record<string, unknown>;
              send(
                String(ev.id),
                ev.type,
                JSON.stringify({
                  ...payload,
                  execution_id: ev.execution_id,
                  pipeline_id: ev.pipeline_id,
                  project_name: ev.project_name,
                }),
              );
              last = ev.id;
            }
            if (events.length < 1000) return false;
          }
        },
      );
    },
  );
}
