import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseBusyError, isSqliteBusy } from '../store/sqlite-busy.ts';

/** The one error type routes throw: an HTTP status and a message a client can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, message);
export const notFound = (message: string): ApiError => new ApiError(404, message);
export const conflict = (message: string): ApiError => new ApiError(409, message);
export const forbidden = (message: string): ApiError => new ApiError(403, message);

/** Buddy's error body. */
export function errorBody(message: string): { errors: { message: string }[] } {
  return { errors: [{ message }] };
}

function validationMessage(err: FastifyError): string {
  const first = err.validation?.[0];
  if (!first) return err.message;
  const where = err.validationContext === 'body' ? '' : `${err.validationContext ?? 'request'} `;
  const instancePath = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'required')
    return `${where}field "${[instancePath, params.missingProperty].filter(Boolean).join('.')}" is required`;
  if (first.keyword === 'additionalProperties') {
    return `${where}unknown field "${[instancePath, params.additionalProperty].filter(Boolean).join('.')}"`;
  }
  if (first.keyword === 'enum' || first.keyword === 'anyOf' || first.keyword === 'const') {
    const allowed = params.allowedValues as unknown[] | undefined;
    return `${where}field "${instancePath}" has an unsupported value${allowed ? `; allowed: ${allowed.join(', ')}` : ''}`;
  }
  return `${where}field "${instancePath || '(body)'}" ${first.message ?? 'is invalid'}`;
}

/**
 * Answers errors the router raises before any route or hook runs (a path that is not valid
 * percent-encoding, an over-long path segment), which Fastify would otherwise answer in its own shape.
 * Passed as Fastify's `frameworkErrors` option.
 */
export function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status =
    err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  void reply.status(status).send(errorBody(err.message));
}

/**
 * Turns every error into Buddy's `{"errors":[{"message": ...}]}` in one place. Client faults keep
 * their 4xx; a database another process kept locked (servers sharing a SQLite file) answers 503 with
 * Retry-After (the write did not happen); anything else is logged and answered 500 without internal
 * details.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) return reply.status(err.status).send(errorBody(err.message));
    if (err.validation) return reply.status(400).send(errorBody(validationMessage(err)));
    if (err instanceof DatabaseBusyError || isSqliteBusy(err)) {
      request.log.warn({ err }, 'database busy');
      return reply
        .status(503)
        .header('retry-after', '1')
        .send(errorBody('the database is busy (another server is writing to it); try again'));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      let message = err.message;
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = 'request body is larger than 1 MB';
      else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
        message = 'Content-Type must be application/json';
      else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
        message = 'request body is empty; send a JSON object';
      else if (status === 400 && err instanceof SyntaxError) message = `malformed JSON: ${err.message}`;
      return reply.status(status).send(errorBody(message));
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send(errorBody('internal error; the server log has the details'));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody(`no such endpoint: ${request.method} ${request.url.split('?')[0]}`));
  });
}
