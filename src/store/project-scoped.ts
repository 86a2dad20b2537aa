import type { Db } from './database.ts';
import type { EnvironmentRow, PackageRow } from './schema.ts';

/**
 * Tables of objects that belong to a workspace or to one of its projects and are named by an
 * identifier unique within that scope (environments, packages). The queries are the same for both.
 */
export type ProjectScopedTable = 'environments' | 'packages';
type RowOf<T extends ProjectScopedTable> = T extends 'environments' ? EnvironmentRow : PackageRow;

// Kysely cannot type a query over a union of tables; both tables share these columns, so the
// builder is told it works on one of them and the row type is restored at the end.
const on = (db: Db, table: ProjectScopedTable) => db.selectFrom(table as 'environments');

/** The workspace's objects, and with `projectId` also that project's, oldest first. */
export async function listInScope<T extends ProjectScopedTable>(
  db: Db,
  table: T,
  workspaceId: number,
  projectId?: number,
): Promise<RowOf<T>[]> {
  let q = on(db, table).selectAll().where('workspace_id', '=', workspaceId);
  if (projectId !== undefined)
    q = q.where((eb) => eb.or([eb('project_id', '=', projectId), eb('project_id', 'is', null)]));
  return (await q.orderBy('create_date').execute()) as RowOf<T>[];
}

/** The object a project names by identifier: the project's own wins over a workspace-wide one. */
export async function findForProject<T extends ProjectScopedTable>(
  db: Db,
  table: T,
  workspaceId: number,
  projectId: number,
  identifier: string,
): Promise<RowOf<T> | undefined> {
  const rows = await on(db, table)
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('identifier', '=', identifier)
    .where((eb) => eb.or([eb('project_id', '=', projectId), eb('project_id', 'is', null)]))
    .execute();
  return (rows.find((r) => r.project_id === projectId) ?? rows[0]) as RowOf<T> | undefined;
}

/** Whether `identifier` is taken in exactly this scope (the workspace itself when projectId is null). */
export async function identifierTakenInScope(
  db: Db,
  table: ProjectScopedTable,
  workspaceId: number,
  projectId: number | null,
  identifier: string,
  exceptId?: string,
): Promise<boolean> {
  let q = on(db, table)
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('identifier', '=', identifier);
  q = projectId === null ? q.where('project_id', 'is', null) : q.where('project_id', '=', projectId);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}
