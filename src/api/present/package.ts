import type { PinnedPackage } from '../../engine/package-pin.ts';
import type { PackageRow, PackageVersionRow, WorkspaceRow } from '../../store/schema.ts';
import type { Urls } from './urls.ts';

/** The fields a package is shown with, from a stored row or from an execution's pinned snapshot. */
type PackageFields = PinnedPackage['package'];
type VersionFields = PinnedPackage['version'];

export function packagePath(urls: Urls, ws: WorkspaceRow, packageId: string): string {
  return `${urls.workspace(ws.domain)}/packages/${packageId}`;
}

export function packageFieldsOf(p: PackageRow, size: number): PackageFields {
  return {
    id: p.id,
    type: p.type,
    name: p.name,
    identifier: p.identifier,
    scope: p.project_id === null ? 'WORKSPACE' : 'PROJECT',
    size,
  };
}

export function versionFieldsOf(v: PackageVersionRow): VersionFields {
  return { id: v.id, version: v.version, size: v.size, created_date: v.created_date };
}

/** The short package object of seed 000's execution: `{url, html_url, id, type, name, identifier, scope, size}`. */
export function presentPackageRef(urls: Urls, ws: WorkspaceRow, p: PackageFields): Record<string, unknown> {
  return {
    ...urls.pair(packagePath(urls, ws, p.id)),
    id: p.id,
    type: p.type,
    name: p.name,
    identifier: p.identifier,
    scope: p.scope,
    size: p.size,
  };
}

/** A package as its own endpoints show it. */
export function presentPackage(
  urls: Urls,
  ws: WorkspaceRow,
  p: PackageRow,
  size: number,
  project: { name: string; display_name: string } | null,
): Record<string, unknown> {
  return {
    ...presentPackageRef(urls, ws, packageFieldsOf(p, size)),
    project: project
      ? {
          ...urls.pair(urls.project(ws.domain, project.name)),
          name: project.name,
          display_name: project.display_name,
        }
      : null,
    create_date: p.create_date,
  };
}

/**
 * A package version: `{url, html_url, version_url, id, version, size, created_date}`. Buddy's
 * version_url is where the version's content is served; here that is the download endpoint.
 */
export function presentVersion(
  urls: Urls,
  ws: WorkspaceRow,
  packageId: string,
  v: VersionFields,
): Record<string, unknown> {
  const versionPath = `${packagePath(urls, ws, packageId)}/versions/${v.id}`;
  return {
    ...urls.pair(versionPath),
    version_url: urls.api(`${versionPath}/download`),
    id: v.id,
    version: v.version,
    size: v.size,
    created_date: v.created_date,
  };
}
