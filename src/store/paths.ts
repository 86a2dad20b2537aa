import { sql } from 'kysely';
import type { Db } from './database.ts';
import { reusableArrayQuery } from './reusable-query.ts';
import { PIPELINE_COLUMNS } from './pipelines.ts';
import type { PipelineRow, ProjectRow, WorkspaceRow } from './schema.ts';

/**
 * The objects an API path names (workspace domain, project name, pipeline id), found in one query
 * rather than one per level: each query costs a statement, a read transaction and its file locks,
 * which was most of a simple GET's own work. Only the found case is answered here; callers take the
 * level-by-level lookups when nothing is found, for the exact 404.
 */

/** Every column, so a joined row is whole; `satisfies` fails the build when a table gains one. */
const WORKSPACE_COLUMNS = Object.keys({
  id: 1,
  domain: 1,
  name: 1,
  owner_id: 1,
  frozen: 1,
  create_date: 1,
  encryption_salt: 1,
} satisfies Record<keyof WorkspaceRow, 1>);
const PROJECT_COLUMNS = Object.keys({
  id: 1,
  workspace_id: 1,
  name: 1,
  display_name: 1,
  status: 1,
  create_date: 1,
  created_by: 1,
  custom_repo_url: 1,
  custom_repo_user: 1,
  custom_repo_pass: 1,
  default_branch: 1,
  settings: 1,
} satisfies Record<keyof ProjectRow, 1>);

type Alias = 'w' | 'p' | 'pl';

/**
 * Each table's columns under prefixed names (`w__domain`): joined tables share column names, and rows
 * read as arrays (reusableArrayQuery) need a name per column.
 */
const prefixed = (alias: Alias, columns: readonly string[]) =>
  columns.map((c) => sql.ref(`${alias}.${c}`).as(`${alias}__${c}`));

/**
 * One table's row out of a joined one read as an array, its columns from `start` on, in the table's
 * order (as `selectAll` gives them).
 */
function rowAt<T>(values: readonly unknown[], start: number, columns: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i += 1) out[columns[i]!] = values[start + i];
  return out as T;
}

const projectByPath = reusableArrayQuery(2, (db, domain: string, name: string) =>
  db
    .selectFrom('projects as p')
    .innerJoin('workspaces as w', 'w.id', 'p.workspace_id')
    .select(prefixed('w', WORKSPACE_COLUMNS))
    .select(prefixed('p', PROJECT_COLUMNS))
    .where('w.domain', '=', domain)
    .where('p.name', '=', name),
);

/** The workspace and its project of these names, or undefined when either is missing. */
export async function findProjectByPath(
  db: Db,
  domain: string,
  name: string,
): Promise<{ ws: WorkspaceRow; project: ProjectRow } | undefined> {
  const [row] = await projectByPath(db, domain, name);
  if (!row) return undefined;
  return {
    ws: rowAt<WorkspaceRow>(row, 0, WORKSPACE_COLUMNS),
    project: rowAt<ProjectRow>(row, WORKSPACE_COLUMNS.length, PROJECT_COLUMNS),
  };
}

const pipelineByPath = reusableArrayQuery(3, (db, domain: string, name: string, id: number) =>
  db
    .selectFrom('pipelines as pl')
    .innerJoin('projects as p', 'p.id', 'pl.project_id')
    .innerJoin('workspaces as w', 'w.id', 'p.workspace_id')
    .select(prefixed('w', WORKSPACE_COLUMNS))
    .select(prefixed('p', PROJECT_COLUMNS))
    .select(prefixed('pl', PIPELINE_COLUMNS))
    .where('w.domain', '=', domain)
    .where('p.name', '=', name)
    .where('pl.id', '=', id),
);

/** The workspace, project and pipeline a path names, or undefined when any is missing. */
export async function findPipelineByPath(
  db: Db,
  domain: string,
  name: string,
  id: number,
): Promise<{ ws: WorkspaceRow; project: ProjectRow; pipeline: PipelineRow } | undefined> {
  const [row] = await pipelineByPath(db, domain, name, id);
  if (!row) return undefined;
  return {
    ws: rowAt<WorkspaceRow>(row, 0, WORKSPACE_COLUMNS),
    project: rowAt<ProjectRow>(row, WORKSPACE_COLUMNS.length, PROJECT_COLUMNS),
    pipeline: rowAt<PipelineRow>(row, WORKSPACE_COLUMNS.length + PROJECT_COLUMNS.length, PIPELINE_COLUMNS),
  };
}
