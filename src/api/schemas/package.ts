import { Type } from '@sinclair/typebox';
import { Links } from './identity.ts';
import { PackageRef, PackageVersion } from './execution.ts';
import { Nullable } from './response.ts';

/** Response schemas of packages and their versions (buddy-api-clients.md §C.9). */

export const Package = Type.Object(
  {
    ...PackageRef.properties,
    project: Nullable(Type.Object({ ...Links, name: Type.String(), display_name: Type.String() })),
    create_date: Type.String(),
  },
  { title: 'Package' },
);
export const PackageList = Type.Object({ ...Links, packages: Type.Array(Package) });
export const PackageVersionList = Type.Object({ ...Links, versions: Type.Array(PackageVersion) });
export { PackageVersion };
