import { archiveMissing, PackageStore } from '../packages/package-store.ts';
import type { BindMount } from '../runtime/container-runtime.ts';
import type { Db } from '../store/database.ts';
import {
  findPackageForProject,
  findPackageVersion,
  getPackageVersion,
  packageSizes,
} from '../store/packages.ts';
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

/** What a runner needs to find a pinned version's files: the ids, and the names the log and mount use. */
export interface PinnedFiles {
  packageId: string;
  versionId: string;
  identifier: string;
  version: string;
}

export function pinnedFilesOf(pin: PinnedPackage): PinnedFiles {
  return {
    packageId: pin.package.id,
    versionId: pin.version.id,
    identifier: pin.package.identifier,
    version: pin.version.version,
  };
}

/** The read-only mount of a pinned version's files at `hostPath`, where every container action sees them. */
export function packageMountAt(pin: PinnedFiles, hostPath: string): BindMount {
  return { hostPath, containerPath: `${PACKAGES_MOUNT_ROOT}/${pin.identifier}`, readOnly: true };
}

/**
 * An execution's pinned version as its runner gets it: with `local`, the read-only mount of its files
 * on this server (unpacked from the database when this server does not have them yet; `note` then
 * says so). Without, only checked to exist: a remote worker fetches the files itself. A string is
 * the message to fail the execution with (the version was deleted since, for a retry of an old
 * execution); null when none is pinned.
 */
export async function pinnedPackageFiles(
  db: Db,
  dataDir: string,
  e: ExecutionRow,
  local: boolean,
): Promise<{ pin: PinnedFiles; mount: BindMount | null; note: string | null } | string | null> {
  const pinned = pinnedPackageOf(e);
  if (!pinned) return null;
  const pin = pinnedFilesOf(pinned);
  const name = `version "${pin.version}" of package "${pin.identifier}"`;
  const v = await getPackageVersion(db, pin.packageId, pin.versionId);
  if (!v) return `${name} no longer exists`;
  if (!local) return { pin, mount: null, note: null };
  let files;
  try {
    files = await new PackageStore(db, dataDir).localFiles(v);
  } catch (err) {
    return `unpacking ${name} failed: ${(err as Error).message}`;
  }
  if (!files) return archiveMissing(pinned.package, pinned.version);
  return {
    pin,
    mount: packageMountAt(pin, files.dir),
    note:
      files.unpacked > 0
        ? `Package ${pin.identifier}:${pin.version} unpacked on this server from the database (${files.unpacked} entries)`
        : null,
  };
}
