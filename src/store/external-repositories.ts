import type { Db } from './database.ts';
import type { ExternalRepositoriesTable, ProjectRow } from './schema.ts';

export type ExternalRepositoryRow = ExternalRepositoriesTable;

const EMPTY: Omit<ExternalRepositoryRow, 'project_id'> = {
  source: null,
  refs: null,
  version: 0,
  poll_interval: null,
  next_poll_at: null,
  last_poll_at: null,
  last_poll_error: null,
  push_secret: null,
};

/** The project's row, created empty on first use (a project made before polling existed has none). */
export async function externalRepository(db: Db, projectId: number): Promise<ExternalRepositoryRow> {
  await db
    .insertInto('external_repositories')
    .values({ project_id: projectId, ...EMPTY })
    .onConflict((oc) => oc.column('project_id').doNothing())
    .execute();
  return db
    .selectFrom('external_repositories')
    .selectAll()
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
}

/** Active projects with an external repository, with their rows (null when none exists yet). */
export async function externalProjects(
  db: Db,
): Promise<{ project: ProjectRow; state: ExternalRepositoryRow | null }[]> {
  const projects = await db
    .selectFrom('projects')
    .selectAll()
    .where('custom_repo_url', 'is not', null)
    .where('status', '=', 'ACTIVE')
    .orderBy('id')
    .execute();
  if (projects.length === 0) return [];
  const rows = await db
    .selectFrom('external_repositories')
    .selectAll()
    .where(
      'project_id',
      'in',
      projects.map((p) => p.id),
    )
    .execute();
  const byId = new Map(rows.map((r) => [r.project_id, r]));
  return projects.map((project) => ({ project, state: byId.get(project.id) ?? null }));
}

/**
 * Moves a project's next poll from `expected` to `next` only if nobody moved it first: of two servers
 * on one database, exactly one polls a due project.
 */
export async function claimPoll(
  db: Db,
  projectId: number,
  expected: string | null,
  next: string,
): Promise<boolean> {
  const result = await db
    .updateTable('external_repositories')
    .set({ next_poll_at: next })
    .where('project_id', '=', projectId)
    .where((eb) => (expected === null ? eb('next_poll_at', 'is', null) : eb('next_poll_at', '=', expected)))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Replaces the refs triggers were computed against, only if they are still at `version`: a change is
 * triggered by whoever moves the refs, once, even with two servers or a poll racing a forge's call.
 */
export async function advanceRefs(
  db: Db,
  projectId: number,
  version: number,
  source: string,
  refs: ReadonlyMap<string, string>,
): Promise<boolean> {
  const result = await db
    .updateTable('external_repositories')
    .set({ source, refs: JSON.stringify(Object.fromEntries(refs)), version: version + 1 })
    .where('project_id', '=', projectId)
    .where('version', '=', version)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Drops the stored refs (and so the baseline) of a project: the next look records new ones. */
export async function forgetRefs(db: Db, projectId: number): Promise<void> {
  await db
    .updateTable('external_repositories')
    .set((eb) => ({ refs: null, version: eb('version', '+', 1) }))
    .where('project_id', '=', projectId)
    .execute();
}

export async function updateExternalRepository(
  db: Db,
  projectId: number,
  patch: Partial<Omit<ExternalRepositoryRow, 'project_id' | 'source' | 'refs' | 'version'>>,
): Promise<void> {
  await db.updateTable('external_repositories').set(patch).where('project_id', '=', projectId).execute();
}

/** The stored refs of a row as a map (empty when there is no baseline yet). */
export function storedRefs(row: ExternalRepositoryRow): Map<string, string> {
  return new Map(Object.entries(row.refs ? (JSON.parse(row.refs) as Record<string, string>) : {}));
}
