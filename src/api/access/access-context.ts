import {
  highest,
  objectLevel,
  type AccessLevel,
  type PermissionField,
  type PermissionLevels,
} from '../../domain/access-levels.ts';
import { getActionById } from '../../store/actions.ts';
import type { Db } from '../../store/database.ts';
import { userGroups } from '../../store/groups.ts';
import { getMembership } from '../../store/members.ts';
import { getPermissionSetsByIds } from '../../store/permission-sets.ts';
import { getPipelineById, type Pipeline } from '../../store/pipelines.ts';
import { getEnvironment } from '../../store/environments.ts';
import { getObjectPermissions } from '../../store/object-permissions.ts';
import { parseJson } from '../../store/time.ts';
import type { PipelineSettings } from '../../domain/pipeline.ts';
import { projectSetsOfUser } from '../../store/project-team.ts';
import type {
  EnvironmentRow,
  IntegrationRow,
  PackageRow,
  UserRow,
  VariableRow,
  WorkspaceMemberRow,
  WorkspaceRow,
} from '../../store/schema.ts';

/** What a caller is in a workspace. */
export type WorkspaceRole = 'server-admin' | 'owner' | 'admin' | 'member' | 'none';

/**
 * Everything the permission checks of one request need, loaded lazily and cached for the request: the
 * caller's membership, groups and permission sets. The workspace owner, workspace admins and the server
 * administrator hold MANAGE on everything; other members hold what their project sets and the objects'
 * own permissions give them; non-members hold DENIED.
 */
export class AccessContext {
  private readonly roles = new Map<number, Promise<WorkspaceRole>>();
  private readonly groups = new Map<number, Promise<number[]>>();
  private readonly sets = new Map<number, Promise<PermissionLevels | null>>();

  constructor(
    private readonly db: Db,
    readonly user: UserRow,
  ) {}

  role(ws: WorkspaceRow): Promise<WorkspaceRole> {
    let role = this.roles.get(ws.id);
    if (!role) {
      role = this.loadRole(ws);
      this.roles.set(ws.id, role);
    }
    return role;
  }

  private async loadRole(ws: WorkspaceRow): Promise<WorkspaceRole> {
    if (this.user.admin === 1) return 'server-admin';
    if (ws.owner_id === this.user.id) return 'owner';
    const m: WorkspaceMemberRow | undefined = await getMembership(this.db, ws.id, this.user.id);
    if (!m) return 'none';
    return m.admin === 1 ? 'admin' : 'member';
  }

  /** True for the owner, workspace admins and the server administrator: they may do everything. */
  async manages(ws: WorkspaceRow): Promise<boolean> {
    const role = await this.role(ws);
    return role === 'server-admin' || role === 'owner' || role === 'admin';
  }

  /** MANAGE for those who manage the workspace, READ_ONLY for other members, DENIED for strangers. */
  async workspaceLevel(ws: WorkspaceRow): Promise<AccessLevel> {
    const role = await this.role(ws);
    if (role === 'none') return 'DENIED';
    return role === 'member' ? 'READ_ONLY' : 'MANAGE';
  }

  groupIds(ws: WorkspaceRow): Promise<number[]> {
    let ids = this.groups.get(ws.id);
    if (!ids) {
      ids = userGroups(this.db, ws.id, this.user.id).then((groups) => groups.map((g) => g.id));
      this.groups.set(ws.id, ids);
    }
    return ids;
  }

  /**
   * The caller's levels in a project: the best of each field over the sets they hold directly and through
   * their groups; null when they are not a member. Only meaningful for plain members.
   */
  projectLevels(ws: WorkspaceRow, projectId: number): Promise<PermissionLevels | null> {
    let levels = this.sets.get(projectId);
    if (!levels) {
      levels = this.loadProjectLevels(ws, projectId);
      this.sets.set(projectId, levels);
    }
    return levels;
  }

  private async loadProjectLevels(ws: WorkspaceRow, projectId: number): Promise<PermissionLevels | null> {
    const held = (await projectSetsOfUser(this.db, this.user.id, await this.groupIds(ws), [projectId])).get(
      projectId,
    );
    if (!held || held.length === 0) return null;
    const rows = [...(await getPermissionSetsByIds(this.db, held)).values()];
    const field = (f: PermissionField): AccessLevel => highest(rows.map((r) => r[f] as AccessLevel));
    return {
      pipeline_access_level: field('pipeline_access_level'),
      project_team_access_level: field('project_team_access_level'),
      repository_access_level: field('repository_access_level'),
      sandbox_access_level: field('sandbox_access_level'),
      environment_access_level: field('environment_access_level'),
      target_access_level: field('target_access_level'),
    };
  }

  /**
   * The caller's level on a project as a whole: READ_ONLY for any member (they see it), MANAGE when their
   * repository level is MANAGE (project settings), DENIED for non-members.
   */
  async projectLevel(ws: WorkspaceRow, projectId: number, field?: PermissionField): Promise<AccessLevel> {
    if (await this.manages(ws)) return 'MANAGE';
    const levels = await this.projectLevels(ws, projectId);
    if (!levels) return 'DENIED';
    if (field) return levels[field];
    return levels.repository_access_level === 'MANAGE' ? 'MANAGE' : 'READ_ONLY';
  }

  /** Level on one pipeline: its own permissions, DEFAULT inheriting the project's pipeline level. */
  async pipelineLevel(
    ws: WorkspaceRow,
    pipeline: Pick<Pipeline, 'projectId' | 'settings'>,
  ): Promise<AccessLevel> {
    if (await this.manages(ws)) return 'MANAGE';
    const levels = await this.projectLevels(ws, pipeline.projectId);
    if (!levels) return 'DENIED';
    return objectLevel(
      pipeline.settings.permissions,
      { userId: this.user.id, groupIds: await this.groupIds(ws) },
      levels.pipeline_access_level,
    );
  }

  /**
   * Which pipelines of a project the caller may see, as a filter a paged query can apply: null for all,
   * else the ids to leave out (`except`) or the only ids to show (`only`, when the project's own level
   * denies pipelines and only per-pipeline grants open some).
   */
  async pipelineFilter(
    ws: WorkspaceRow,
    projectId: number,
  ): Promise<{ except: number[] } | { only: number[] } | null> {
    if (await this.manages(ws)) return null;
    const levels = await this.projectLevels(ws, projectId);
    if (!levels) return { only: [] };
    // Only pipelines with their own permissions can differ from the project's level.
    const rows = (
      await this.db
        .selectFrom('pipelines')
        .select(['id', 'settings'])
        .where('project_id', '=', projectId)
        .where('settings', 'like', '%"permissions":{%')
        .execute()
    ).map((r) => ({ pipeline_id: r.id, permissions: parseJson<PipelineSettings>(r.settings).permissions }));
    const caller = { userId: this.user.id, groupIds: await this.groupIds(ws) };
    const levelOf = (r: (typeof rows)[number]): AccessLevel =>
      objectLevel(r.permissions, caller, levels.pipeline_access_level);
    if (levels.pipeline_access_level === 'DENIED')
      return { only: rows.filter((r) => levelOf(r) !== 'DENIED').map((r) => r.pipeline_id) };
    const except = rows.filter((r) => levelOf(r) === 'DENIED').map((r) => r.pipeline_id);
    return except.length > 0 ? { except } : null;
  }

  /**
   * Level on an environment: its own permissions, DEFAULT inheriting the project's environment level
   * (project environments) or USE_ONLY (workspace environments, for every member).
   */
  async environmentLevel(ws: WorkspaceRow, env: EnvironmentRow): Promise<AccessLevel> {
    if (await this.manages(ws)) return 'MANAGE';
    if ((await this.role(ws)) === 'none') return 'DENIED';
    let inherited: AccessLevel = 'USE_ONLY';
    if (env.project_id !== null) {
      const levels = await this.projectLevels(ws, env.project_id);
      if (!levels) return 'DENIED';
      inherited = levels.environment_access_level;
    }
    const own = await getObjectPermissions(this.db, { kind: 'environment', id: env.id });
    return objectLevel(own, { userId: this.user.id, groupIds: await this.groupIds(ws) }, inherited);
  }

  /**
   * Level on an integration: its own permissions, DEFAULT giving members USE_ONLY. (`admins` is not
   * consulted: workspace admins may do everything.)
   */
  async integrationLevel(ws: WorkspaceRow, integration: Pick<IntegrationRow, 'id'>): Promise<AccessLevel> {
    if (await this.manages(ws)) return 'MANAGE';
    if ((await this.role(ws)) === 'none') return 'DENIED';
    const own = await getObjectPermissions(this.db, { kind: 'integration', id: integration.id });
    return objectLevel(own, { userId: this.user.id, groupIds: await this.groupIds(ws) }, 'USE_ONLY');
  }

  /**
   * Level on a variable follows what it hangs on: an action's or pipeline's variables go with the
   * pipeline, an environment's with the environment, a project's with the project's pipeline level
   * (those who edit pipelines edit their variables), a workspace's with the workspace.
   */
  async variableLevel(
    ws: WorkspaceRow,
    v: Pick<VariableRow, 'project_id' | 'pipeline_id' | 'action_id' | 'environment_id'>,
  ): Promise<AccessLevel> {
    if (await this.manages(ws)) return 'MANAGE';
    let pipelineId = v.pipeline_id;
    if (v.action_id !== null) pipelineId = (await getActionById(this.db, v.action_id))?.pipelineId ?? null;
    if (pipelineId !== null) {
      const pipeline = await getPipelineById(this.db, pipelineId);
      return pipeline ? this.pipelineLevel(ws, pipeline) : 'DENIED';
    }
    if (v.environment_id !== null) {
      const env = await getEnvironment(this.db, ws.id, v.environment_id);
      return env ? this.environmentLevel(ws, env) : 'DENIED';
    }
    if (v.project_id !== null) {
      const levels = await this.projectLevels(ws, v.project_id);
      return levels ? highest([levels.pipeline_access_level, 'READ_ONLY']) : 'DENIED';
    }
    return this.workspaceLevel(ws);
  }

  /** The items the caller holds more than DENIED on (for list endpoints; workspace managers see all). */
  async visible<T>(
    ws: WorkspaceRow,
    items: readonly T[],
    levelOf: (item: T) => Promise<AccessLevel>,
  ): Promise<T[]> {
    if (await this.manages(ws)) return [...items];
    const out: T[] = [];
    for (const item of items) if ((await levelOf(item)) !== 'DENIED') out.push(item);
    return out;
  }

  /** Level on a package: a project's packages go with its repository level, the workspace's with the workspace. */
  async packageLevel(ws: WorkspaceRow, pkg: Pick<PackageRow, 'project_id'>): Promise<AccessLevel> {
    if (pkg.project_id === null) return this.workspaceLevel(ws);
    return this.projectLevel(ws, pkg.project_id, 'repository_access_level');
  }
}
