import { redactingLogger } from './log-redaction.ts';
import http from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { installAccess } from './access/route-access.ts';
import { installAuth } from './auth.ts';
import { PrincipalCache } from './principal-cache.ts';
import type { ApiContext } from './context.ts';
import { answerFrameworkError, errorBody, installErrorHandler } from './errors.ts';
import { installInputGuards } from './input-guards.ts';
import { LazySchemas } from './lazy-compilers.ts';
import { actionRoutes } from './routes/actions.ts';
import { environmentRoutes } from './routes/environments.ts';
import { integrationRoutes } from './routes/integrations.ts';
import { opsRoutes, versionRoute } from './routes/ops.ts';
import { packageRoutes } from './routes/packages.ts';
import { packageVersionRoutes } from './routes/package-versions.ts';
import { executionRoutes } from './routes/executions.ts';
import { gitHttpRoutes } from './routes/git-http.ts';
import { groupRoutes } from './routes/groups.ts';
import { identityRoutes } from './routes/identity.ts';
import { memberRoutes } from './routes/members.ts';
import { permissionSetRoutes } from './routes/permission-sets.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { profileRoutes } from './routes/profile.ts';
import { repositoryContentsRoutes } from './routes/repository-contents.ts';
import { variableRoutes } from './routes/variables.ts';
import { projectRoutes } from './routes/projects.ts';
import { streamRoutes } from './routes/streams.ts';
import { projectTeamRoutes } from './routes/project-team.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { triggerWebhookRoutes } from './routes/trigger-webhooks.ts';
import { workerRoutes } from './routes/workers.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { externalRepositoryRoutes } from './routes/external-repositories.ts';
import { webUiRoutes } from './routes/web-ui.ts';
import { StreamTickets } from './stream-tickets.ts';
import { workspaceRoutes } from './routes/workspaces.ts';
import { GANTRY_VERSION, SERVER_HEADER } from '../ops/version.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** Bodies are checked strictly (no coercion, nothing silently dropped); query strings and params are coerced from text. */
function validators(): { body: Ajv; other: Ajv } {
  const common = { allErrors: false, strict: false, keywords: ['kind', 'modifier'] };
  const body = new Ajv({ ...common, coerceTypes: false, removeAdditional: false, useDefaults: false });
  const other = new Ajv({ ...common, coerceTypes: true, removeAdditional: false, useDefaults: true });
  // RFC 3339 date-times only: Date.parse alone takes "1" (the year 2001) and much else.
  const dateTime = (s: string): boolean => RFC3339.test(s) && !Number.isNaN(Date.parse(s));
  for (const ajv of [body, other]) ajv.addFormat('date-time', { type: 'string', validate: dateTime });
  return { body, other };
}

/**
 * Buddy serves its API at the host root and its clients build paths by plain concatenation onto the
 * base URL (see buddy-api-clients.md §A.1), so `/workspaces/...` and `/user...` are the same routes as
 * `/api/workspaces/...`. Doubled slashes after the base and `/apiworkspaces` (a base URL of `/api`
 * without its trailing slash) are what such clients send too. Nothing else lives at these paths: the web
 * UI is `/` with hash routes, git is under `/git`.
 */
export function apiAtRoot(url: string): string {
  const root = /^\/+(?:api\/*)?(workspaces|user)(?=[/?]|$)/.exec(url);
  if (root) return `/api/${root[1]}${url.slice(root[0].length)}`;
  return url;
}

/**
 * Fails a response whose schema-driven serialisation differs from the object the route returned: a
 * field the schema lacks would be dropped silently, a wrong type coerced (`null` → `""`, 1.5 → 2).
 * The tests turn it on, so every response they see proves its schema complete.
 */
function checkResponsesAgainstSchemas(app: FastifyInstance): void {
  const returned = new WeakMap<object, string>();
  app.addHook('preSerialization', (request, _reply, payload, done) => {
    returned.set(request, JSON.stringify(payload));
    done(null, payload);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    // A body the route serialised itself (sendSerialized) is compared with the object it stands for.
    const before =
      returned.get(request) ?? (request.presented ? JSON.stringify(request.presented()) : undefined);
    // Its text: sendSerialized may send the bytes (PresentedBytesCache).
    const sent = Buffer.isBuffer(payload) ? payload.toString() : payload;
    if (before === undefined || typeof sent !== 'string') return done(null, payload);
    if (!isDeepStrictEqual(JSON.parse(sent), JSON.parse(before))) {
      const message = `response of ${request.method} ${request.routeOptions.url} (${reply.statusCode}) differs from what the route returned: its response schema drops or changes fields`;
      request.log.error({ returned: before, sent }, message);
      // Said in the answer itself: the tests run without a log.
      void reply.status(500);
      return done(null, JSON.stringify(errorBody(`${message}\nreturned: ${before}\nsent:     ${sent}`)));
    }
    done(null, payload);
  });
}

/** Builds the HTTP application: the Buddy-compatible API under /api and at the root, git over HTTP under /git, the web UI at /. */
export async function buildApp(
  ctx: ApiContext,
  logger: Logger | false,
  options: { checkResponseSchemas?: boolean } = {},
): Promise<FastifyInstance> {
  // Each route's validators and serialisers are compiled at its first use (see lazy-compilers.ts).
  const schemas = new LazySchemas();
  const app = Fastify({
    loggerInstance: logger === false ? undefined : redactingLogger(logger),
    logger: logger === false ? false : undefined,
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    frameworkErrors: answerFrameworkError,
    rewriteUrl: (req: { url?: string }) => apiAtRoot(req.url ?? '/'),
    schemaController: { compilersFactory: { buildSerializer: schemas.buildSerializer } },
    // Slow or idle clients cannot hold the server: headers must arrive within headersTimeoutSeconds, the
    // whole request within requestTimeoutSeconds (checked every second rather than Node's 30), and
    // connections beyond maxConnections are closed as they arrive.
    serverFactory: (handler: http.RequestListener) => {
      const server = http.createServer(
        {
          headersTimeout: Math.min(ctx.config.headersTimeoutSeconds, ctx.config.requestTimeoutSeconds) * 1000,
          requestTimeout: ctx.config.requestTimeoutSeconds * 1000,
          connectionsCheckingInterval: 1000,
        },
        handler,
      );
      server.maxConnections = ctx.config.maxConnections;
      return server;
    },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.decorateRequest('presented', null);
  const { body, other } = validators();
  app.setValidatorCompiler(schemas.validatorCompiler((httpPart) => (httpPart === 'body' ? body : other)));
  app.decorate('schemaCompilation', {
    pending: () => schemas.pendingCount,
    compileAll: () => schemas.compileAll(),
  });
  installErrorHandler(app);
  installInputGuards(app);
  if (options.checkResponseSchemas) checkResponsesAgainstSchemas(app);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('server', SERVER_HEADER);
    done();
  });
  const metrics = ctx.ops.metrics;
  if (metrics) {
    // The route pattern, not the URL, labels a request: label values must stay a small, fixed set.
    app.addHook('onResponse', (request, reply, done) => {
      metrics.httpRequest(
        request.method,
        request.routeOptions.url ?? 'unmatched',
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
  const tickets = new StreamTickets(ctx.db);
  installAuth(app, ctx.db, tickets, new PrincipalCache(ctx.identityWrites));
  installAccess(app, ctx.db);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Gantry API (Buddy.Works compatible)', version: GANTRY_VERSION },
      servers: [{ url: `${ctx.config.publicUrl}/api` }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(
    async (api) => {
      // The API speaks JSON only; without this, Fastify's default text/plain parser would hand routes
      // a string and the client would get a confusing "must be object" instead of 415.
      api.removeContentTypeParser('text/plain');
      api.get('/openapi.json', { config: { scope: null }, schema: { hide: true } }, async () =>
        app.swagger(),
      );
      // The documentation pages are public; the hook must precede the plugin to see its routes.
      api.addHook('onRoute', (route) => {
        if (route.url.startsWith('/api/docs')) route.config = { ...(route.config ?? {}), scope: null };
        // Every DELETE answers 204 without a body (Buddy's rule); the OpenAPI document says so.
        if (route.method === 'DELETE' && route.schema && !route.schema.response)
          route.schema = { ...route.schema, response: { 204: { type: 'null', description: 'deleted' } } };
      });
      await api.register(swaggerUi, { routePrefix: '/docs' });
      versionRoute(api);
      identityRoutes(api, ctx);
      profileRoutes(api, ctx);
      workspaceRoutes(api, ctx);
      projectRoutes(api, ctx);
      repositoryContentsRoutes(api, ctx);
      pipelineRoutes(api, ctx);
      actionRoutes(api, ctx);
      executionRoutes(api, ctx);
      variableRoutes(api, ctx);
      environmentRoutes(api, ctx);
      integrationRoutes(api, ctx);
      packageRoutes(api, ctx);
      signInRoutes(api, ctx);
      memberRoutes(api, ctx);
      permissionSetRoutes(api, ctx);
      groupRoutes(api, ctx);
      projectTeamRoutes(api, ctx);
      await packageVersionRoutes(api, ctx);
      streamRoutes(api, ctx, tickets);
      triggerWebhookRoutes(api, ctx);
      webhookRoutes(api, ctx);
      await externalRepositoryRoutes(api, ctx);
    },
    { prefix: '/api' },
  );
  opsRoutes(app, ctx);
  await app.register(async (git) => gitHttpRoutes(git, ctx), { prefix: '/git' });
  await app.register(async (w) => workerRoutes(w, ctx), { prefix: '/api/workers' });
  await app.register(async (ui) => webUiRoutes(ui, ctx));
  return app;
}
