import type { Logger } from 'pino';

/** Query parameters that carry a credential (the SSE clients' ?access_token=, stream tickets, passwords). */
const SECRET_PARAMS = /([?&;](?:access_token|token|ticket|password|secret|totp)=)[^&#;]*/gi;

/** `url` with the value of every credential-carrying query parameter replaced by [REDACTED]. */
export function redactUrl(url: unknown): unknown {
  return typeof url === 'string' ? url.replace(SECRET_PARAMS, '$1[REDACTED]') : url;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  hostname?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * The server's logger as the HTTP layer gets it: the request serializer (Fastify's own, less the URL's
 * secrets), `url`/`originalUrl` fields (Fastify's "rewrite url" line) redacted, and any Authorization or
 * Cookie header that reaches a log line censored. Fastify keeps a logger instance's own serializers over its
 * defaults, so these apply to every request line.
 */
export function redactingLogger(logger: Logger): Logger {
  return logger.child(
    {},
    {
      serializers: {
        req: (req: LoggedRequest) => ({
          method: req.method,
          url: redactUrl(req.url),
          host: req.host ?? req.hostname,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
        url: redactUrl,
        originalUrl: redactUrl,
      },
      redact: {
        paths: [
          'headers.authorization',
          'headers.cookie',
          'req.headers.authorization',
          'req.headers.cookie',
          'request.headers.authorization',
          'authorization',
        ],
        censor: '[REDACTED]',
      },
    },
  );
}
