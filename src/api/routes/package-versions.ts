import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { UPLOAD_LIMIT_BYTES, type ArchiveFormat } from '../../packages/package-files.ts';
import { archiveMissing, PackageStore } from '../../packages/package-store.ts';
import { ArchiveError } from '../../packages/safe-extract.ts';
import {
  createPackageVersion,
  deletePackageVersion,
  findPackageVersion,
  getPackageVersion,
  hasActiveExecutionsPinnedTo,
  listPackageVersions,
} from '../../store/packages.ts';
import type { PackageRow, PackageVersionRow, WorkspaceRow } from '../../store/schema.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest, conflict, notFound } from '../errors.ts';
import { packagePath, presentVersion, versionFieldsOf } from '../present/package.ts';
import { AuthQuery } from '../schemas/common.ts';
import { loadPackage, PackageParams, shortId } from './packages.ts';
import { PackageVersion, PackageVersionList } from '../schemas/package.ts';
import { ArchiveDownload } from '../schemas/response.ts';

/** Content types an archive upload may be sent with; gzip is recognised by its bytes, not by the header. */
const ARCHIVE_CONTENT_TYPES = [
  'application/x-tar',
  'application/gzip',
  'application/x-gzip',
  'application/octet-stream',
];
// No ":" (an execution names "identifier:version") and nothing that could not be a file name.
const Version = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]*$' });
const UploadQuery = Type.Object({ version: Version, access_token: Type.Optional(Type.String()) });
const VersionParams = Type.Object({
  ...PackageParams.properties,
  version_id: Type.String({ maxLength: 32 }),
});

/**
 * Versions of a FILE package: uploaded as a .tar or .tar.gz body (streamed to disk, checked and
 * extracted, then stored in the database so that every server serves it), listed, shown, downloaded
 * as uploaded, deleted.
 */
export async function packageVersionRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db, urls } = ctx;
  const store = new PackageStore(db, ctx.config.dataDir);
  const base = '/workspaces/:workspace/packages/:package_id/versions';

  async function load(
    request: FastifyRequest,
    params: Static<typeof VersionParams>,
  ): Promise<{ ws: WorkspaceRow; pkg: PackageRow; v: PackageVersionRow }> {
    const { ws, pkg } = await loadPackage(db, request, params);
    const v = await getPackageVersion(db, pkg.id, params.version_id);
    if (!v) throw notFound(`version "${params.version_id}" of package "${pkg.identifier}" not found`);
    return { ws, pkg, v };
  }

  app.get<{ Params: Static<typeof PackageParams> }>(
    base,
    {
      config: { scope: 'EXECUTION_INFO', access: 'package:READ_ONLY' },
      schema: { params: PackageParams, querystring: AuthQuery, response: { 200: PackageVersionList } },
    },
    async (request) => {
      const { ws, pkg } = await loadPackage(db, request, request.params);
      const rows = await listPackageVersions(db, pkg.id);
      return {
        ...urls.pair(`${packagePath(urls, ws, pkg.id)}/versions`),
        versions: rows.map((v) => presentVersion(urls, ws, pkg.id, versionFieldsOf(v))),
      };
    },
  );

  app.get<{ Params: Static<typeof VersionParams> }>(
    `${base}/:version_id`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'package:READ_ONLY' },
      schema: { params: VersionParams, querystring: AuthQuery, response: { 200: PackageVersion } },
    },
    async (request) => {
      const { ws, pkg, v } = await load(request, request.params);
      return presentVersion(urls, ws, pkg.id, versionFieldsOf(v));
    },
  );

  app.get<{ Params: Static<typeof VersionParams> }>(
    `${base}/:version_id/download`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'package:READ_ONLY' },
      schema: { params: VersionParams, querystring: AuthQuery, response: { 200: ArchiveDownload } },
    },
    async (request, reply) => {
      const { pkg, v } = await load(request, request.params);
      const format = v.archive_format as ArchiveFormat;
      const content = await store.contentOf(v);
      if (!content) throw notFound(archiveMissing(pkg, v));
      return reply
        .header('content-type', format === 'tar.gz' ? 'application/gzip' : 'application/x-tar')
        .header('content-length', content.size)
        .header('content-disposition', `attachment; filename="${pkg.identifier}-${v.version}.${format}"`)
        .send(Readable.from(store.chunks(content)));
    },
  );

  app.delete<{ Params: Static<typeof VersionParams> }>(
    `${base}/:version_id`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'package:READ_WRITE' },
      schema: { params: VersionParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { pkg, v } = await load(request, request.params);
      if (await hasActiveExecutionsPinnedTo(db, [v.id]))
        throw conflict(`version "${v.version}" is used by executions queued or in progress`);
      await deletePackageVersion(db, v.id);
      await store.removeVersion(pkg.id, v.id);
      return reply.status(204).send();
    },
  );

  // The upload takes a raw archive body, so it gets its own body parsers in a child context: the rest of
  // the API keeps answering 415 to anything but JSON.
  await app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser(ARCHIVE_CONTENT_TYPES, (_request, payload, done) => done(null, payload));
    uploads.addContentTypeParser('*', (_request, _payload, done) => {
      done(
        new ApiError(
          415,
          `Content-Type must be one of ${ARCHIVE_CONTENT_TYPES.join(', ')}: send the .tar or .tar.gz archive as the body`,
        ),
      );
    });
    uploads.post<{ Params: Static<typeof PackageParams>; Querystring: Static<typeof UploadQuery> }>(
      base,
      {
        config: { scope: 'EXECUTION_MANAGE', access: 'package:READ_WRITE' },
        schema: { params: PackageParams, querystring: UploadQuery, response: { 201: PackageVersion } },
      },
      async (request, reply) => {
        const { ws, pkg } = await loadPackage(db, request, request.params);
        const version = request.query.version;
        if (await findPackageVersion(db, pkg.id, version))
          throw conflict(`version "${version}" of package "${pkg.identifier}" already exists`);
        if (!(request.body instanceof Readable))
          throw badRequest('request body is empty; send the archive (.tar or .tar.gz) as the body');
        if (Number(request.headers['content-length'] ?? 0) > UPLOAD_LIMIT_BYTES) {
          throw new ApiError(413, `archive is larger than ${UPLOAD_LIMIT_BYTES / 1024 / 1024} MB`);
        }
        const v = await storeVersion(ctx, store, pkg, version, request.body);
        return reply.status(201).send(presentVersion(urls, ws, pkg.id, versionFieldsOf(v)));
      },
    );
  });
}

/** Stages, checks and extracts the archive, then makes it a version: files and row both, or neither. */
async function storeVersion(
  ctx: ApiContext,
  store: PackageStore,
  pkg: PackageRow,
  version: string,
  body: Readable,
): Promise<PackageVersionRow> {
  let staged;
  try {
    staged = await store.files.stage(body);
  } catch (err) {
    if (err instanceof ArchiveError) throw new ApiError(err.tooLarge ? 413 : 400, err.message);
    throw err;
  }
  const id = shortId();
  try {
    await store.keep(staged, pkg.id, id);
    return await createPackageVersion(ctx.db, {
      id,
      package_id: pkg.id,
      version,
      size: staged.size,
      archive_format: staged.format,
      archive_size: staged.archiveSize,
    });
  } catch (err) {
    await store.files.discard(staged);
    await store.removeVersion(pkg.id, id);
    // Two uploads of the same version raced; the first one won.
    if (
      /UNIQUE constraint failed|duplicate key value violates unique constraint/.test((err as Error).message)
    )
      throw conflict(`version "${version}" of package "${pkg.identifier}" already exists`);
    throw err;
  }
}
