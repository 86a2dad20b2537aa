import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';

const PAGE = new URL('../../web/index.html', import.meta.url);
const SCRIPT = new URL('../../web/app.js', import.meta.url);

/** The web UI: one static page and its script, which drive the same API with the user's token. */
export function webUiRoutes(app: FastifyInstance, _ctx: ApiContext): void {
  let page: string | null = null;
  let script: string | null = null;
  app.get('/', { config: { scope: null }, schema: { hide: true } }, async (_request, reply) => {
    page ??= await readFile(PAGE, 'utf8');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page);
  });
  app.get('/app.js', { config: { scope: null }, schema: { hide: true } }, async (_request, reply) => {
    script ??= await readFile(SCRIPT, 'utf8');
    return reply
      .type('application/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(script);
  });
}
