import type { Pipeline } from '../../store/pipelines.ts';
import type { ProjectRow, UserRow, WorkspaceRow } from '../../store/schema.ts';
import { presentVariable } from '../../secrets/variables.ts';
import { presentMember } from './identity.ts';
import { presentProjectRef } from './project.ts';
import type { Urls } from './urls.ts';

/** Parts every pipeline of a list shares (see presentPipeline). */
export interface SharedParts {
  creators: Map<number, Record<string, unknown> | null>;
  project?: Record<string, unknown>;
}

/** The full pipeline object. */
export function presentPipeline(
  urls: Urls,
  ws: WorkspaceRow,
  project: ProjectRow,
  p: Pipeline,
  creator: UserRow | undefined,
  /** The workspace's admin members (workspaceAdminIds). */
  admins: ReadonlySet<number>,
  /** Pass one to a list's items: the project and each creator are then presented once, not per item. */
  shared?: SharedParts,
): Record<string, unknown> {
  let creatorShown = shared?.creators.get(p.creatorId);
  if (creatorShown === undefined) {
    creatorShown = presentMember(urls, ws, creator, admins);
    shared?.creators.set(p.creatorId, creatorShown);
  }
  const projectShown = shared
    ? (shared.project ??= presentProjectRef(urls, ws, project))
    : presentProjectRef(urls, ws, project);
  // Object.assign rather than spreads: spreading a large object mid-literal is ~15x slower on Node 20,
  // and this runs for every item of a list (same keys, same order).
  return Object.assign(
    urls.pair(urls.pipeline(ws.domain, project.name, p.id)),
    { id: p.id, identifier: p.identifier, name: p.name },
    // The settings as stored, their variables replaced by the presented ones below (no rest copy).
    p.settings as unknown as Record<string, unknown>,
    {
      waiting_for_push: false,
      create_date: p.createDate,
      creator: creatorShown,
      project: projectShown,
      last_execution_status: p.lastExecutionStatus,
      last_execution_revision: p.lastExecutionRevision,
      last_skipped_trigger: p.lastSkippedTrigger,
      trigger_webhook: p.settings.events.some((e) => e.type === 'WEBHOOK')
        ? {
            url: urls.api(`/trigger/pipelines/${p.id}`),
            totp: p.settings.events.find((e) => e.type === 'WEBHOOK')!.totp,
          }
        : null,
      variables: p.settings.variables.map(presentVariable),
    },
  );
}

/** The short pipeline object nested in actions (seed 004) and executions (seed 000 uses the full one). */
export function presentPipelineRef(
  urls: Urls,
  ws: WorkspaceRow,
  project: ProjectRow,
  p: Pipeline,
): Record<string, unknown> {
  return {
    ...urls.pair(urls.pipeline(ws.domain, project.name, p.id)),
    id: p.id,
    identifier: p.identifier,
    name: p.name,
    on: p.settings.on,
    refs: p.settings.refs,
    priority: p.settings.priority,
    last_execution_status: p.lastExecutionStatus,
    last_execution_revision: p.lastExecutionRevision,
  };
}
