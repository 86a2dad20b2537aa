import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { gitEnv } from './git-cli.ts';

export interface GitHttpOptions {
  /** GIT_PROJECT_ROOT: the directory holding the hosted bare repositories. */
  projectRoot: string;
  /** Path of the request below projectRoot, e.g. "/ws/project.git/info/refs". */
  pathInfo: string;
  method: string;
  /** Raw query string, without "?". */
  query: string;
  contentType?: string | undefined;
  /** git may gzip request bodies; http-backend inflates them itself when told. */
  contentEncoding?: string | undefined;
  /** The authenticated user, recorded by git in the CGI environment. */
  remoteUser: string;
  /** Client address; defaults to the response's socket peer. */
  remoteAddr?: string | undefined;
  /** Raw request body (not parsed by the web framework). */
  body: NodeJS.ReadableStream;
  /** Where the status, headers and body are written. */
  res: ServerResponse;
  /**
   * Called once git has exited and before the response ends, so that whatever a push changed is
   * known to the server before the client can see the push complete.
   */
  onExit?: (() => void) | undefined;
  /** Receives git's stderr when it has any, for the server log. */
  onStderr?: ((text: string) => void) | undefined;
  /** git configuration for this request only (GIT_CONFIG_COUNT), e.g. uploadpack settings. */
  config?: Record<string, string>;
}

/**
 * True when the request is part of a push (receive-pack), so the caller can require a write scope.
 * Deliberately generous: any service=git-receive-pack parameter counts, whatever the path.
 */
export function isPushRequest(pathInfo: string, query: string): boolean {
  if (pathInfo.endsWith('/git-receive-pack')) return true;
  return new URLSearchParams(query).getAll('service').includes('git-receive-pack');
}

/** True when `pathInfo` is absolute and cannot leave the project root ("..", ".", NUL, backslashes). */
export function isSafePathInfo(pathInfo: string): boolean {
  if (!pathInfo.startsWith('/') || /[\x00-\x1f\x7f\\]/.test(pathInfo)) return false;
  return pathInfo.split('/').every((part) => part !== '..' && part !== '.');
}

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

/** Waits until `res` can take more data; false when it closed instead (client gone). */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** Index just past the CGI header block (blank line, CRLF or LF), or -1 when not complete yet. */
function headerEnd(buf: Buffer): number {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  return lf >= 0 ? lf + 2 : -1;
}

/** Turns CGI response headers into an HTTP status and headers on `res` ("Status:" sets the status). */
function writeCgiHead(res: ServerResponse, head: string): void {
  let status = 200;
  let message: string | undefined;
  const headers: Record<string, string[]> = {};
  for (const line of head.split(/\r?\n/)) {
    const idx = line.indexOf(':');
    if (idx <= 0) continue;
    const name = line.slice(0, idx).trim();
    const value = line.slice(idx + 1).trim();
    if (name.toLowerCase() === 'status') {
      const match = /^(\d{3})\s*(.*)$/.exec(value);
      status = match ? Number(match[1]) : 500;
      message = match?.[2] || undefined;
    } else {
      (headers[name] ??= []).push(value);
    }
  }
  for (const [name, values] of Object.entries(headers))
    res.setHeader(name, values.length === 1 ? values[0]! : values);
  if (message) res.writeHead(status, message);
  else res.writeHead(status);
}

/**
 * Serves one smart-HTTP request (clone, fetch or push) for a hosted repository by running
 * `git http-backend` as a CGI program and streaming its answer to `res`. Authentication and
 * authorisation (see isPushRequest) are the caller's job. Resolves when the response is finished.
 */
export async function handleGitHttp(opts: GitHttpOptions): Promise<void> {
  const { res } = opts;
  if (!isSafePathInfo(opts.pathInfo)) {
    plain(res, 400, 'invalid repository path');
    return;
  }
  const env: Record<string, string> = {
    GIT_PROJECT_ROOT: path.resolve(opts.projectRoot),
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: opts.method.toUpperCase(),
    QUERY_STRING: opts.query,
    PATH_INFO: opts.pathInfo,
    CONTENT_TYPE: opts.contentType ?? '',
    REMOTE_USER: opts.remoteUser,
    REMOTE_ADDR: opts.remoteAddr ?? res.req?.socket.remoteAddress ?? '',
  };
  if (opts.contentEncoding) env.HTTP_CONTENT_ENCODING = opts.contentEncoding;
  const config = Object.entries(opts.config ?? {});
  if (config.length > 0) env.GIT_CONFIG_COUNT = String(config.length);
  for (const [i, [key, value]] of config.entries()) {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  }

  const child = spawn('git', ['http-backend'], { env: gitEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = once(child, 'close').catch(() => [null]);
  child.on('error', () => undefined); // reported through `exited` / the missing headers
  // The client may go away mid-push; do not leave git waiting on a body that never ends.
  res.on('close', () => {
    if (!res.writableFinished) child.kill('SIGTERM');
  });
  child.stdin.on('error', () => undefined); // EPIPE when git answers before reading the whole body
  opts.body.on('error', () => child.kill('SIGTERM'));
  opts.body.pipe(child.stdin);

  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

  let pending: Buffer | null = Buffer.alloc(0);
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let data = chunk;
      if (pending) {
        pending = Buffer.concat([pending, chunk]);
        const end = headerEnd(pending);
        if (end < 0) continue;
        writeCgiHead(res, pending.subarray(0, end).toString('latin1'));
        data = pending.subarray(end);
        pending = null;
      }
      if (data.length > 0 && !res.write(data) && !(await drained(res))) break;
    }
  } catch {
    // The response closed under us (client disconnect); git has been killed by the close handler.
  }
  const [code] = await exited;
  opts.onExit?.();
  const errText = Buffer.concat(stderr).toString('utf8').trim();
  if (errText) opts.onStderr?.(errText);
  if (pending) plain(res, 500, `git http-backend failed${code === null ? '' : ` (exit ${String(code)})`}`);
  else if (!res.writableEnded) res.end();
}
