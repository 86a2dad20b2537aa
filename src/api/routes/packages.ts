import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { slugify } from '../../domain/pipeline.ts';
import { PackageStore } from '../../packages/package-store.ts';
import type { Db } from '../../store/database.ts';
import {
  createPackage,
  deletePackage,
  getPackage,
  hasActiveExecutionsPinnedTo,
  listPackages,
  listPackageVersions,
  packageIdentifierInUse,
  packageSizes,
  updatePackage,
} from '../../store/packages.ts';
import { getProject, getProjectById } from '../../store/projects.ts';
import type { PackageRow, WorkspaceRow } from '../../store/schema.ts';
import { accessOf } from '../access/route-access.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { loadWorkspace, projectFilter } from '../lookup.ts';
import { presentPackage } from '../present/package.ts';
import { AuthQuery, Name, OneOf, ReadOnlyEcho, WorkspaceParams } from '../schemas/common.ts';
import { Package, PackageList } from '../schemas/package.ts';

const Identifier = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' });
const ProjectRef = Type.Union([
  Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: true }),
  Type.Null(),
]);
const Fields = {
  name: Name,
  identifier: Type.Optional(Identifier),
  // Checked in code: CONTAINER is Buddy's and gets "not supported yet" rather than a schema error.
  type: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  scope: Type.Optional(OneOf(['WORKSPACE', 'PROJECT'] as const)),
  project: Type.Optional(ProjectRef),
};
const CreateBody = Type.Object(Fields, { additionalProperties: false });
const PatchBody = Type.Object(
  { ...Type.Partial(Type.Object(Fields)).properties, ...ReadOnlyEcho, size: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);
export const PackageParams = Type.Object({
  ...WorkspaceParams.properties,
  package_id: Type.String({ maxLength: 32 }),
});
const ListQuery = Type.Object({
  project_name: Type.Optional(Type.String({ maxLength: 255 })),
  access_token: Type.Optional(Type.String()),
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 8 characters, the shape of Buddy's package and package version ids. */
export function shortId(): string {
  return [...randomBytes(8)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

function checkType(type: string | undefined): 'FILE' {
  if (type === undefined || type === 'FILE') return 'FILE';
  if (type === 'CONTAINER')
    throw badRequest('not supported yet: CONTAINER packages (an image registry); only FILE');
  throw badRequest(`unknown package type "${type}"; supported: FILE`);
}

/** The package a request names in the workspace, or a 404. */
export async function loadPackage(
  db: Db,
  request: FastifyRequest,
  params: Static<typeof PackageParams>,
): Promise<{ ws: WorkspaceRow; pkg: PackageRow }> {
  const ws = await loadWorkspace(db, request, params.workspace);
  const pkg = await getPackage(db, ws.id, params.package_id);
  if (!pkg) throw notFound(`package "${params.package_id}" not found`);
  return { ws, pkg };
}

/**
 * Packages of type FILE: metadata in the database, versions' files under `<dataDir>/packages`.
 * Reading needs EXECUTION_INFO and changing EXECUTION_MANAGE: packages feed executions, and Gantry
 * has no package scopes of its own. Versions are served by package-versions.ts.
 */
export function packageRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  const store = new PackageStore(db, ctx.config.dataDir);
  const base = '/workspaces/:workspace/packages';

  async function present(ws: WorkspaceRow, p: PackageRow): Promise<Record<string, unknown>> {
    const project = p.project_id !== null ? ((await getProjectById(db, p.project_id)) ?? null) : null;
    const size = (await packageSizes(db, [p.id])).get(p.id) ?? 0;
    return presentPackage(urls, ws, p, size, project);
  }

  app.get<{ Params: Static<typeof WorkspaceParams>; Querystring: Static<typeof ListQuery> }>(
    base,
    {
      config: { scope: 'EXECUTION_INFO', access: 'workspace:READ_ONLY' },
      schema: { params: WorkspaceParams, querystring: ListQuery, response: { 200: PackageList } },
    },
    async (request) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const projectId = await projectFilter(db, ws, request.query.project_name);
      const access = accessOf(request);
      const rows = await access.visible(ws, await listPackages(db, ws.id, projectId), (p) =>
        access.packageLevel(ws, p),
      );
      return {
        ...urls.pair(`${urls.workspace(ws.domain)}/packages`),
        packages: await Promise.all(rows.map((p) => present(ws, p))),
      };
    },
  );

  app.post<{ Params: Static<typeof WorkspaceParams>; Body: Static<typeof CreateBody> }>(
    base,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'new-package:READ_WRITE' },
      schema: {
        params: WorkspaceParams,
        body: CreateBody,
        querystring: AuthQuery,
        response: { 201: Package },
      },
    },
    async (request, reply) => {
      const ws = await loadWorkspace(db, request, request.params.workspace);
      const body = request.body;
      const type = checkType(body.type);
      let projectId: number | null = null;
      if (body.project) {
        const project = await getProject(db, ws.id, body.project.name);
        if (!project) throw notFound(`project "${body.project.name}" not found`);
        projectId = project.id;
      }
      if (body.scope === 'PROJECT' && projectId === null)
        throw badRequest('a PROJECT package needs "project": {"name": ...}');
      if (body.scope === 'WORKSPACE' && projectId !== null)
        throw badRequest('a WORKSPACE package cannot name a project');
      const identifier = body.identifier ?? slugify(body.name);
      if (await packageIdentifierInUse(db, ws.id, projectId, identifier))
        throw conflict(`package identifier "${identifier}" is taken`);
      const p = await createPackage(db, {
        id: shortId(),
        workspace_id: ws.id,
        project_id: projectId,
        type,
        name: body.name,
        identifier,
      });
      return reply.status(201).send(await present(ws, p));
    },
  );

  app.get<{ Params: Static<typeof PackageParams> }>(
    `${base}/:package_id`,
    {
      config: { scope: 'EXECUTION_INFO', access: 'package:READ_ONLY' },
      schema: { params: PackageParams, querystring: AuthQuery, response: { 200: Package } },
    },
    async (request) => {
      const { ws, pkg } = await loadPackage(db, request, request.params);
      return present(ws, pkg);
    },
  );

  app.patch<{ Params: Static<typeof PackageParams>; Body: Static<typeof PatchBody> }>(
    `${base}/:package_id`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'package:READ_WRITE' },
      schema: { params: PackageParams, body: PatchBody, querystring: AuthQuery, response: { 200: Package } },
    },
    async (request) => {
      const { ws, pkg } = await loadPackage(db, request, request.params);
      const body = request.body;
      if (body.type !== undefined && checkType(body.type) !== pkg.type)
        throw badRequest('a package cannot change its type');
      const projectName =
        pkg.project_id === null ? null : ((await getProjectById(db, pkg.project_id))?.name ?? null);
      if (body.project !== undefined && (body.project?.name ?? null) !== projectName)
        throw badRequest('a package cannot move to another project; create a new one');
      if (body.scope !== undefined && body.scope !== (pkg.project_id === null ? 'WORKSPACE' : 'PROJECT'))
        throw badRequest('a package cannot change its scope');
      if (
        body.identifier !== undefined &&
        body.identifier !== pkg.identifier &&
        (await packageIdentifierInUse(db, ws.id, pkg.project_id, body.identifier, pkg.id))
      ) {
        throw conflict(`package identifier "${body.identifier}" is taken`);
      }
      const updated = await updatePackage(db, pkg.id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.identifier !== undefined ? { identifier: body.identifier } : {}),
      });
      return present(ws, updated);
    },
  );

  app.delete<{ Params: Static<typeof PackageParams> }>(
    `${base}/:package_id`,
    {
      config: { scope: 'EXECUTION_MANAGE', access: 'package:READ_WRITE' },
      schema: { params: PackageParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const { pkg } = await loadPackage(db, request, request.params);
      const versions = await listPackageVersions(db, pkg.id);
      if (
        await hasActiveExecutionsPinnedTo(
          db,
          versions.map((v) => v.id),
        )
      )
        throw conflict('package has versions used by executions queued or in progress');
      await deletePackage(db, pkg.id);
      await store.removePackage(
        pkg.id,
        versions.map((v) => v.id),
      );
      return reply.status(204).send();
    },
  );
}
