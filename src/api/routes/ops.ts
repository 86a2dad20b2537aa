import type { FastifyInstance } from 'fastify';
import { authenticate, tokenFromRequest } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { GANTRY_VERSION } from '../../ops/version.ts';

/**
 * Probes for load balancers and orchestrators, outside /api and without a token: /healthz says the
 * process answers, /readyz whether it can work (503 with the reason otherwise). Both say nothing a
 * stranger could use: no paths, hosts, counts or error details.
 */
export function opsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const probe = { config: { scope: null }, schema: { hide: true } };
  app.get('/healthz', probe, async () => ({ status: 'ok' }));
  app.get('/readyz', probe, async (_request, reply) => {
    const r = await ctx.ops.readiness();
    return reply
      .status(r.ready ? 200 : 503)
      .send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  const metrics = ctx.ops.metrics;
  if (metrics && ctx.ops.metricsOnApiPort) {
    // Metrics add up every workspace, so only a token that may see them all reads them.
    app.get('/metrics', probe, async (request, reply) => {
      const principal = await authenticate(ctx.db, tokenFromRequest(request), request.ip);
      if (!principal.user.admin || principal.workspaceRestrictions !== null)
        throw new ApiError(403, 'metrics need an admin token without workspace restrictions');
      return reply.type(metrics.contentType).send(await metrics.render());
    });
  }
}

/** GET /api/version: the running Gantry's version (also in every response's Server header). */
export function versionRoute(api: FastifyInstance): void {
  api.get(
    '/version',
    {
      config: { scope: null },
      schema: {
        summary: "The server's version",
        response: { 200: { type: 'object', properties: { version: { type: 'string' } } } },
      },
    },
    async () => ({ version: GANTRY_VERSION }),
  );
}
