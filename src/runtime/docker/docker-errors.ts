import type Docker from 'dockerode';
import { RuntimeError } from '../container-runtime.ts';

/**
 * Turns the `dockerHost` setting into dockerode connection options.
 *
 * Accepts a unix socket path (`/var/run/docker.sock`, `unix:///var/run/docker.sock`) or `tcp://host:port`
 * (`http://` and `https://` are accepted too). Every connection field is set explicitly because docker-modem
 * otherwise merges in DOCKER_HOST / DOCKER_CERT_PATH from the environment, and our configuration must win.
 */
export function dockerConnectionOptions(dockerHost: string): Docker.DockerOptions {
  const explicit = {
    host: undefined,
    port: undefined,
    socketPath: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
  };
  if (dockerHost.startsWith('/')) {
    return { ...explicit, socketPath: dockerHost, protocol: 'http' };
  }
  if (dockerHost.startsWith('unix://')) {
    return { ...explicit, socketPath: dockerHost.slice('unix://'.length), protocol: 'http' };
  }
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    throw new Error(`invalid Docker host "${dockerHost}": expected a socket path or tcp://host:port`);
  }
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol) || url.hostname === '') {
    throw new Error(`invalid Docker host "${dockerHost}": expected a socket path or tcp://host:port`);
  }
  return {
    ...explicit,
    host: url.hostname,
    port: url.port === '' ? 2375 : Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  };
}

/** Socket-level error codes meaning "the engine is not there (right now)", not "the engine said no". */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EACCES',
]);

/** Shape of the errors docker-modem produces for non-2xx answers and socket failures. */
interface ModemError {
  message?: string;
  code?: string;
  statusCode?: number;
  json?: unknown;
}

/** The HTTP status of an engine answer, when `err` is one. */
export function statusCodeOf(err: unknown): number | undefined {
  const status = (err as ModemError | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message for a failed request (its JSON `message`), falling back to the error text. */
export function engineMessageOf(err: unknown): string {
  const e = err as ModemError | null;
  const json = e?.json;
  if (json && typeof json === 'object' && 'message' in json && typeof json.message === 'string') {
    return json.message;
  }
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  const text = e?.message?.trim() || String(err);
  // docker-modem words streamed-request failures as "(HTTP code 500) server error - <engine message> ".
  return /^\(HTTP code \d+\) .*? - (.*)$/s.exec(text)?.[1]?.trim() || text;
}

/**
 * Heuristic for registry failures reported inside a pull/push progress stream: network trouble and
 * rate limits may clear up on a retry, "not found" or "unauthorized" will not.
 */
export function isTransientRegistryMessage(message: string): boolean {
  return /timeout|timed out|connection refused|connection reset|temporary failure|no such host|tls handshake|unexpected eof|toomanyrequests|too many requests|\b50[234]\b|service unavailable|bad gateway/i.test(
    message,
  );
}

/**
 * Maps anything dockerode throws to a RuntimeError. Connection failures become retryable errors naming the
 * engine address, so an operator sees at once that Docker is down rather than a bare ECONNREFUSED.
 */
export function toRuntimeError(
  err: unknown,
  action: string,
  dockerHost: string,
  isRetryable: (status: number, message: string) => boolean = (status) => status === 503,
): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const e = err as ModemError | null;
  const code = e?.code;
  if (code !== undefined && CONNECTION_ERROR_CODES.has(code) && statusCodeOf(err) === undefined) {
    const hint = code === 'EACCES' ? ' (permission denied on the socket)' : '';
    return new RuntimeError(
      `cannot reach the Docker engine at ${dockerHost}${hint}: ${e?.message ?? code}`,
      code !== 'EACCES',
    );
  }
  const status = statusCodeOf(err);
  const message = engineMessageOf(err);
  if (status === undefined) return new RuntimeError(`${action}: ${message}`, false);
  // By default 5xx from the engine is a real refusal (bad mount, missing image...); 503 means "busy, try later".
  return new RuntimeError(`${action}: ${message} (HTTP ${status})`, isRetryable(status, message));
}
