import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest } from './errors.ts';

/**
 * Input that the schemas would let through and that breaks later: a NUL in a ref makes every later run
 * of the pipeline a 400, a control character in an image name or user reaches Docker, 1e308 is an
 * "integer" to JSON Schema and not to the database, a byte-order mark or UTF-16 body is read as
 * garbage. All of it is refused here, before any route runs, so nothing is half-written.
 */

/**
 * Fields that name things (refs, images, users, paths, commands to exec): no control character at all,
 * not even a newline. Free text (descriptions, inline commands, variable values) may hold \t \n \r.
 */
const NAME_FIELDS = new Set([
  'refs',
  'ref',
  'tag',
  'tags',
  'branch',
  'revision',
  'name',
  'display_name',
  'domain',
  'key',
  'identifier',
  'docker_image_name',
  'docker_image_tag',
  'registry',
  'repository',
  'login',
  'run_as_user',
  'entrypoint',
  'shell',
  'mount_filesystem_path',
  'volume_mappings',
  'export_container_path',
  'dockerfile_path',
  'context_path',
  'target_platform',
  'file_path',
  'file_chmod',
  'custom_repo_url',
  'email',
  'environment',
  'package_version',
  'docker_registry',
]);

const CONTROL = /[\u0000-\u001f\u007f]/;

/** The body's problem, or null: `where` is the field path as messages show it (`refs[0]`, `variables[1].key`). */
export function hostileInput(value: unknown, where = '', key = ''): string | null {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return `field "${where}" contains a NUL character`;
    if (NAME_FIELDS.has(key) && CONTROL.test(value))
      return `field "${where}" contains a control character (code ${value.match(CONTROL)![0].charCodeAt(0)})`;
    return null;
  }
  if (typeof value === 'number') {
    // JSON Schema's "integer" is any whole double (1e308 is one); no number in this API is that large.
    if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER)
      return `field "${where}" is out of range (${value})`;
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = hostileInput(value[i], `${where}[${i}]`, key);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return `a field name in "${where || 'the body'}" contains a NUL character`;
      const found = hostileInput(v, where === '' ? k : `${where}.${k}`, k);
      if (found !== null) return found;
    }
  }
  return null;
}

const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * JSON bodies: UTF-8 only (another charset is 415), no byte-order mark, no invalid UTF-8 (the default
 * parser would strip the mark and turn bad bytes into U+FFFD, saving something the client did not send),
 * then the body checks above on every JSON request.
 */
export function installInputGuards(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset))
      return done(new ApiError(415, `unsupported charset "${charset}": send JSON in UTF-8`), undefined);
    if (
      (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) ||
      (bytes[0] === 0xfe && bytes[1] === 0xff) ||
      (bytes[0] === 0xff && bytes[1] === 0xfe)
    )
      return done(
        badRequest('the body starts with a byte-order mark: send UTF-8 JSON without one'),
        undefined,
      );
    let text: string;
    try {
      text = FATAL_UTF8.decode(bytes);
    } catch {
      return done(badRequest('the body is not valid UTF-8'), undefined);
    }
    // The default parser answers through `done`; its return value is nothing to wait for.
    void parseJson(request, text, done);
  });
  app.addHook('preValidation', (request, _reply, done) => {
    // Only JSON bodies: git's packs and other raw uploads are bytes, checked by their own routes.
    const json = /^application\/json\b/i.test(request.headers['content-type'] ?? '');
    const problem = json && request.body !== undefined ? hostileInput(request.body) : null;
    done(problem === null ? undefined : badRequest(problem));
  });
}
