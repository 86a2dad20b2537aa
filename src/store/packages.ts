import type { ExecutionStatus } from '../domain/status.ts';
import type { Db } from './database.ts';
import type { PackageRow, PackagesTable, PackageVersionRow, PackageVersionsTable } from './schema.ts';
import { findForProject, identifierTakenInScope, listInScope } from './project-scoped.ts';
import { now } from './time.ts';

export function listPackages(db: Db, workspaceId: number, projectId?: number): Promise<PackageRow[]> {
  return listInScope(db, 'packages', workspaceId, projectId);
}

export async function getPackage(db: Db, workspaceId: number, id: string): Promise<PackageRow | undefined> {
  return db
    .selectFrom('packages')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The package an execution names by identifier (a project's own wins over a workspace-wide one, as environments do). */
export function findPackageForProject(
  db: Db,
  workspaceId: number,
  projectId: number,
  identifier: string,
): Promise<PackageRow | undefined> {
  return findForProject(db, 'packages', workspaceId, projectId, identifier);
}

export function packageIdentifierInUse(
  db: Db,
  workspaceId: number,
  projectId: number | null,
  identifier: string,
  exceptId?: string,
): Promise<boolean> {
  return identifierTakenInScope(db, 'packages', workspaceId, projectId, identifier, exceptId);
}

export type NewPackage = Omit<PackagesTable, 'create_date'>;

export async function createPackage(db: Db, p: NewPackage): Promise<PackageRow> {
  return db
    .insertInto('packages')
    .values({ ...p, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updatePackage(db: Db, id: string, patch: Partial<NewPackage>): Promise<PackageRow> {
  if (Object.keys(patch).length === 0)
    return db.selectFrom('packages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return db.updateTable('packages').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deletePackage(db: Db, id: string): Promise<void> {
  await db.deleteFrom('packages').where('id', '=', id).execute();
}

/** Total bytes of every version's files, by package id (packages without versions are absent). */
export async function packageSizes(db: Db, packageIds: readonly string[]): Promise<Map<string, number>> {
  if (packageIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('package_versions')
    .select((eb) => ['package_id', eb.fn.sum<number>('size').as('total')])
    .where('package_id', 'in', [...packageIds])
    .groupBy('package_id')
    .execute();
  return new Map(rows.map((r) => [r.package_id, Number(r.total)]));
}

export async function listPackageVersions(db: Db, packageId: string): Promise<PackageVersionRow[]> {
  return db
    .selectFrom('package_versions')
    .selectAll()
    .where('package_id', '=', packageId)
    .orderBy('created_date', 'desc')
    .orderBy('id')
    .execute();
}

export async function getPackageVersion(
  db: Db,
  packageId: string,
  id: string,
): Promise<PackageVersionRow | undefined> {
  return db
    .selectFrom('package_versions')
    .selectAll()
    .where('package_id', '=', packageId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findPackageVersion(
  db: Db,
  packageId: string,
  version: string,
): Promise<PackageVersionRow | undefined> {
  return db
    .selectFrom('package_versions')
    .selectAll()
    .where('package_id', '=', packageId)
    .where('version', '=', version)
    .executeTakeFirst();
}

export type NewPackageVersion = Omit<PackageVersionsTable, 'created_date'>;

export async function createPackageVersion(db: Db, v: NewPackageVersion): Promise<PackageVersionRow> {
  return db
    .insertInto('package_versions')
    .values({ ...v, created_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deletePackageVersion(db: Db, id: string): Promise<void> {
  await db.deleteFrom('package_versions').where('id', '=', id).execute();
}

const ACTIVE: ExecutionStatus[] = ['ENQUEUED', 'INPROGRESS', 'TERMINATING'];

/** True when a queued or running execution is pinned to one of `versionIds` (its files must stay). */
export async function hasActiveExecutionsPinnedTo(db: Db, versionIds: readonly string[]): Promise<boolean> {
  if (versionIds.length === 0) return false;
  const row = await db
    .selectFrom('executions')
    .select('id')
    .where('package_version_id', 'in', [...versionIds])
    .where('status', 'in', ACTIVE)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
