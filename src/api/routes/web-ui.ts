import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiContext } from '../context.ts';

/** Where `scripts/build-web.ts` puts the bundled UI (run by scripts/start.sh and the test command). */
export const WEB_DIR = new URL('../../../dist/web/', import.meta.url);

/**
 * Scripts, styles and connections only from this server; no inline script or style (ansi_up's log
 * colours are classes), no framing, no plugins, no base or form targets elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.js.map': 'app.js.map',
  '/app.css': 'app.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'application/javascript; charset=utf-8',
  map: 'application/json; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-cache');
}

/** The web UI: a page, its bundled script and stylesheet, which drive the same API with the user's token. */
export function webUiRoutes(app: FastifyInstance, _ctx: ApiContext): void {
  const cache = new Map<string, Buffer>();
  for (const [route, file] of Object.entries(FILES)) {
    app.get(route, { config: { scope: null }, schema: { hide: true } }, async (_request, reply) => {
      let body = cache.get(file);
      if (!body) {
        try {
          body = await readFile(new URL(file, WEB_DIR));
        } catch {
          return secure(reply)
            .status(503)
            .type('text/plain; charset=utf-8')
            .send(
              'The web UI is not built: run "node --import tsx scripts/build-web.ts" (scripts/start.sh does).\n',
            );
        }
        cache.set(file, body);
      }
      return secure(reply)
        .type(TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream')
        .send(body);
    });
  }
}
