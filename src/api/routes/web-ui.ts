import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';

const PAGE = new URL('../../web/index.html', import.meta.url);

/** The web UI: one static page that drives the same API with the user's token. */
export function webUiRoutes(app: FastifyInstance, _ctx: ApiContext): void {
  let cached: string | null = null;
  app.get('/', { config: { scope: null }, schema: { hide: true } }, async (_request, reply) => {
    cached ??= await readFile(PAGE, 'utf8');
    return reply.type('text/html; charset=utf-8').send(cached);
  });
}
