import { PackageFiles } from '../packages/package-files.ts';
import type { BindMount } from '../runtime/container-runtime.ts';
import type { Db } from '../store/database.ts';
import { findPackageForProject, findPackageVersion, packageSizes } from '../store/packages.ts';
import type { ExecutionRow, ProjectRow } from '../store/schema.ts';
import { parseJson } from '../store/time.ts';

/**
 * The package and version an execution is pinned to, as they were when it was accepted (stored in
 * executions.package_info), so the execution keeps showing them after a rename or a deletion.
 */
export interface PinnedPackage {
  package: {
    id: string;
    type: string;
    name: string;
    identifier: string;
    scope: 'WORKSPACE' | 'PROJECT';
    size: number;
  };
  version: { id: string; version: string; size: number; created_date: string };
}

/** Where a pinned version's files appear in every container action: `<root>/<package identifier>`, read-only. */
export const PACKAGES_MOUNT_ROOT = '/buddy/packages';

/**
 * Resolves `package_version: "identifier:version"` for an execution of `project` (the project's own
 * package wins over a workspace one). Returns the message of the 404 to answer when either is unknown.
 */
export async function resolvePackageVersion(
  db: Db,
  project: ProjectRow,
  ref: string,
): Promise<PinnedPackage | string> {
  const colon = ref.indexOf(':');
  const identifier = colon < 0 ? ref : ref.slice(0, colon);
  const version = colon < 0 ? '' : ref.slice(colon + 1);
  const pkg = await findPackageForProject(db, project.workspace_id, project.id, identifier);
  if (!pkg) return `package "${identifier}" not found`;
  const v = await findPackageVersion(db, pkg.id, version);
  if (!v) return `version "${version}" of package "${identifier}" not found`;
  const size = (await packageSizes(db, [pkg.id])).get(pkg.id) ?? 0;
  return {
    package: {
      id: pkg.id,
      type: pkg.type,
      name: pkg.name,
      identifier: pkg.identifier,
      scope: pkg.project_id === null ? 'WORKSPACE' : 'PROJECT',
      size,
    },
    version: { id: v.id, version: v.version, size: v.size, created_date: v.created_date },
  };
}

/** The pinned package of an execution row, or null when it has none. */
export function pinnedPackageOf(e: Pick<ExecutionRow, 'package_info'>): PinnedPackage | null {
  return e.package_info === null ? null : parseJson<PinnedPackage>(e.package_info);
}

/**
 * The read-only mount of an execution's pinned version (null when none is pinned), or the message
 * to fail the execution with when the version was deleted since (a retry of an old execution).
 */
export async function pinnedPackageMount(
  dataDir: string,
  e: ExecutionRow,
): Promise<BindMount | string | null> {
  const pin = pinnedPackageOf(e);
  if (!pin) return null;
  const files = new PackageFiles(dataDir);
  if (!(await files.hasVersion(pin.package.id, pin.version.id))) {
    return `version "${pin.version.version}" of package "${pin.package.identifier}" no longer exists`;
  }
  return {
    hostPath: files.versionDir(pin.package.id, pin.version.id),
    containerPath: `${PACKAGES_MOUNT_ROOT}/${pin.package.identifier}`,
    readOnly: true,
  };
}
