import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allows, type AccessLevel } from '../../domain/access-levels.ts';
import type { Db } from '../../store/database.ts';
import { getEnvironment } from '../../store/environments.ts';
import { findIntegration } from '../../store/integrations.ts';
import { getPackage } from '../../store/packages.ts';
import { getPipeline } from '../../store/pipelines.ts';
import { getProject } from '../../store/projects.ts';
import type { ProjectRow, WorkspaceRow } from '../../store/schema.ts';
import { getVariable } from '../../store/variables.ts';
import { getWorkspace } from '../../store/workspaces.ts';
import { assertWorkspaceAllowed, principalOf } from '../auth.ts';
import { ApiError, forbidden, notFound } from '../errors.ts';
import { AccessContext } from './access-context.ts';

/**
 * What a route operates on, found from its path (and, for creations, its body):
 * - `workspace`: the workspace itself (members READ_ONLY, owner/admins MANAGE);
 * - `project`: the project (members READ_ONLY, repository MANAGE gives MANAGE = project settings);
 * - `repository`, `team`, `pipelines`: the caller's repository, project team and pipeline level in the
 *   project (`pipelines` is for the collection: listing and creating pipelines);
 * - `pipeline`: one pipeline (`:pipeline_id`), with its own permissions;
 * - `environment`, `integration`, `variable`, `package`: one object of the workspace (`:id`,
 *   `:identifier`, `:id`, `:package_id`), with its own permissions where Buddy has them;
 * - `new-variable`, `new-environment`, `new-package`: a creation; the owner named in the body
 *   (`project.name`, `pipeline.id`, `action.id`, `environment.id`) decides, else the workspace.
 */
export type AccessTarget =
  | 'workspace'
  | 'project'
  | 'repository'
  | 'team'
  | 'pipelines'
  | 'pipeline'
  | 'environment'
  | 'integration'
  | 'variable'
  | 'package'
  | 'new-variable'
  | 'new-environment'
  | 'new-package';

/**
 * A route's permission: `public` (no token), `user` (any signed-in caller, about their own account) or
 * `<target>:<level>`, the least level the caller needs on the target. A caller holding DENIED gets 404
 * (the object's name does not leak), one holding less than the level gets 403.
 */
export type Access = 'public' | 'user' | `${AccessTarget}:${AccessLevel}`;

/** A registered route with what it declares (see installAccess). */
export interface DeclaredRoute {
  method: string;
  url: string;
  scope: string | null | undefined;
  access: Access | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after installAccess, with its declared scope and access (for the matrix test and docs). */
    declaredRoutes: DeclaredRoute[];
  }
  interface FastifyRequest {
    accessContext: AccessContext | null;
  }
  interface FastifyContextConfig {
    /** What the caller needs on which object; see Access. Every API route declares it. */
    access?: Access;
  }
}

/** The access context of an authenticated request (created by the access hook). */
export function accessOf(request: FastifyRequest): AccessContext {
  if (!request.accessContext) throw new ApiError(401, 'authentication required');
  return request.accessContext;
}

type Params = Record<string, string | undefined>;

function bodyField(body: unknown, key: string, field: string): unknown {
  if (body === null || typeof body !== 'object') return undefined;
  const nested = (body as Record<string, unknown>)[key];
  if (nested === null || typeof nested !== 'object') return undefined;
  return (nested as Record<string, unknown>)[field];
}

/**
 * The 404 of a target, identical whether the object is missing or hidden from the caller, so that a
 * denied caller cannot tell the two apart.
 */
function missing(target: AccessTarget, ws: WorkspaceRow, params: Params, body: unknown): ApiError {
  switch (target) {
    case 'workspace':
      return notFound(`workspace "${ws.domain}" not found`);
    case 'pipeline':
      return notFound(
        `pipeline ${params.pipeline_id ?? ''} not found in project "${params.project_name ?? ''}"`,
      );
    case 'environment':
      return notFound(`environment "${params.id ?? ''}" not found`);
    case 'integration':
      return notFound(`integration "${params.identifier ?? params.hash_id ?? params.id ?? ''}" not found`);
    case 'variable':
      return notFound(`variable ${params.id ?? ''} not found`);
    case 'package':
      return notFound(`package "${params.package_id ?? ''}" not found`);
    case 'new-variable':
    case 'new-environment':
    case 'new-package': {
      const name = bodyField(body, 'project', 'name');
      if (typeof name === 'string') return notFound(`project "${name}" not found`);
      return notFound(`${target.slice(4)} owner not found`);
    }
    default:
      return notFound(`project "${params.project_name ?? ''}" not found in workspace "${ws.domain}"`);
  }
}

/** The named project, or the same 404 whether it is missing or the caller is no member of it. */
async function projectOf(
  db: Db,
  access: AccessContext,
  ws: WorkspaceRow,
  name: string | undefined,
): Promise<ProjectRow> {
  const project = name === undefined ? undefined : await getProject(db, ws.id, name);
  if (!project || (await access.projectLevel(ws, project.id)) === 'DENIED')
    throw notFound(`project "${name ?? ''}" not found in workspace "${ws.domain}"`);
  return project;
}

const asId = (value: unknown): number | null =>
  typeof value === 'number' && Number.isSafeInteger(value)
    ? value
    : typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value)
      ? Number(value)
      : null;

/** The caller's level on the route's target; throws 404 for an object that does not exist. */
async function levelOn(
  db: Db,
  access: AccessContext,
  ws: WorkspaceRow,
  target: AccessTarget,
  params: Params,
  body: unknown,
): Promise<AccessLevel> {
  switch (target) {
    case 'workspace':
      return access.workspaceLevel(ws);
    case 'project':
      return access.projectLevel(ws, (await projectOf(db, access, ws, params.project_name)).id);
    case 'repository':
      return access.projectLevel(
        ws,
        (await projectOf(db, access, ws, params.project_name)).id,
        'repository_access_level',
      );
    case 'team':
      return access.projectLevel(
        ws,
        (await projectOf(db, access, ws, params.project_name)).id,
        'project_team_access_level',
      );
    case 'pipelines':
      return access.projectLevel(
        ws,
        (await projectOf(db, access, ws, params.project_name)).id,
        'pipeline_access_level',
      );
    case 'pipeline': {
      const project = await projectOf(db, access, ws, params.project_name);
      const id = asId(params.pipeline_id);
      const pipeline = id === null ? undefined : await getPipeline(db, project.id, id);
      // A missing pipeline is as invisible as a denied one; a project stranger learns nothing either way.
      if (!pipeline) return 'DENIED';
      return access.pipelineLevel(ws, pipeline);
    }
    case 'environment': {
      const env = await getEnvironment(db, ws.id, params.id ?? '');
      if (!env) return 'DENIED';
      return access.environmentLevel(ws, env);
    }
    case 'integration': {
      const ref = params.identifier ?? params.hash_id ?? params.id ?? '';
      const integration = await findIntegration(db, ws.id, ref);
      if (!integration) return 'DENIED';
      return access.integrationLevel(ws, integration);
    }
    case 'variable': {
      const id = asId(params.id);
      const variable = id === null ? undefined : await getVariable(db, ws.id, id);
      if (!variable) return 'DENIED';
      return access.variableLevel(ws, variable);
    }
    case 'package': {
      const pkg = await getPackage(db, ws.id, params.package_id ?? '');
      if (!pkg) return 'DENIED';
      return access.packageLevel(ws, pkg);
    }
    case 'new-variable': {
      const projectName = bodyField(body, 'project', 'name');
      const pipelineId = asId(bodyField(body, 'pipeline', 'id'));
      const actionId = asId(bodyField(body, 'action', 'id'));
      const environmentId = bodyField(body, 'environment', 'id');
      if (typeof projectName === 'string')
        return access.variableLevel(ws, {
          project_id: (await projectOf(db, access, ws, projectName)).id,
          pipeline_id: null,
          action_id: null,
          environment_id: null,
        });
      if (pipelineId !== null || actionId !== null || typeof environmentId === 'string')
        return access.variableLevel(ws, {
          project_id: null,
          pipeline_id: pipelineId,
          action_id: actionId,
          environment_id: typeof environmentId === 'string' ? environmentId : null,
        });
      return access.workspaceLevel(ws);
    }
    case 'new-environment':
    case 'new-package': {
      const projectName = bodyField(body, 'project', 'name');
      if (typeof projectName !== 'string') return access.workspaceLevel(ws);
      const project = await projectOf(db, access, ws, projectName);
      return access.projectLevel(
        ws,
        project.id,
        target === 'new-environment' ? 'environment_access_level' : 'repository_access_level',
      );
    }
  }
}

/**
 * The one place permissions are enforced: every API route declares `config.access` and this hook,
 * running after authentication and before validation, compares it with what the caller holds. Token
 * scopes are checked before (installAuth), so a token never does more than its scopes AND its user allow.
 */
export function installAccess(app: FastifyInstance, db: Db): void {
  app.decorateRequest('accessContext', null);
  const declared: DeclaredRoute[] = [];
  app.decorate('declaredRoutes', declared);
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { scope?: string | null; access?: Access };
    for (const method of [route.method].flat())
      declared.push({ method, url: route.url, scope: config.scope, access: config.access });
  });
  app.addHook('preValidation', async (request) => {
    const config = request.routeOptions.config;
    if (!request.routeOptions.url || config.scope === null) return;
    const principal = principalOf(request);
    const access = new AccessContext(db, principal.user);
    request.accessContext = access;
    const declared = config.access;
    if (declared === undefined) throw forbidden('this endpoint declares no access level');
    if (declared === 'public' || declared === 'user') return;
    const [target, needed] = declared.split(':') as [AccessTarget, AccessLevel];
    const params = (request.params ?? {}) as Params;
    const domain = params.workspace ?? '';
    assertWorkspaceAllowed(request, domain);
    // The server administrator may do everything; the handlers report missing objects themselves.
    if (principal.user.admin === 1) return;
    const ws = await getWorkspace(db, domain);
    if (!ws || (await access.workspaceLevel(ws)) === 'DENIED')
      throw notFound(`workspace "${domain}" not found`);
    const held = await levelOn(db, access, ws, target, params, request.body);
    if (held === 'DENIED') throw missing(target, ws, params, request.body);
    if (!allows(held, needed))
      throw forbidden(`this needs ${needed} access to the ${target.replace('new-', '')}; you have ${held}`);
  });
}
