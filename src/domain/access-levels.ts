/**
 * Buddy's access levels and how Gantry orders them. One ladder serves every object: a route needs a
 * level, the caller holds one, and more is always enough. USE_ONLY (environments, integrations) reads
 * and uses an object in runs, which is what RUN_ONLY is for pipelines.
 */
export const ACCESS_LEVELS = ['DENIED', 'READ_ONLY', 'USE_ONLY', 'RUN_ONLY', 'READ_WRITE', 'MANAGE'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** Per-object permission values: an access level or DEFAULT (inherit from the project or workspace role). */
export type ObjectAccess = AccessLevel | 'DEFAULT';

const RANK: Record<AccessLevel, number> = {
  DENIED: 0,
  READ_ONLY: 1,
  USE_ONLY: 2,
  RUN_ONLY: 2,
  READ_WRITE: 3,
  MANAGE: 4,
};

export function rank(level: AccessLevel): number {
  return RANK[level];
}

/** True when `held` is at least `needed`. */
export function allows(held: AccessLevel, needed: AccessLevel): boolean {
  return RANK[held] >= RANK[needed];
}

export function highest(levels: readonly AccessLevel[]): AccessLevel {
  let best: AccessLevel = 'DENIED';
  for (const l of levels) if (RANK[l] > RANK[best]) best = l;
  return best;
}

/** The six fields of a permission set, with the values Buddy documents for each. */
export const PERMISSION_FIELDS = {
  pipeline_access_level: ['DENIED', 'READ_ONLY', 'RUN_ONLY', 'READ_WRITE'],
  project_team_access_level: ['READ_ONLY', 'MANAGE'],
  repository_access_level: ['DENIED', 'READ_ONLY', 'READ_WRITE', 'MANAGE'],
  sandbox_access_level: ['DENIED', 'READ_ONLY', 'RUN_ONLY', 'READ_WRITE'],
  environment_access_level: ['DENIED', 'USE_ONLY', 'MANAGE'],
  target_access_level: ['DENIED', 'READ_ONLY', 'USE_ONLY', 'MANAGE'],
} as const satisfies Record<string, readonly AccessLevel[]>;

export type PermissionField = keyof typeof PERMISSION_FIELDS;
export type PermissionLevels = Record<PermissionField, AccessLevel>;

/** Levels a new custom set gets for fields the request leaves out (the seed sends only three). */
export const CUSTOM_SET_DEFAULTS: PermissionLevels = {
  pipeline_access_level: 'READ_ONLY',
  project_team_access_level: 'READ_ONLY',
  repository_access_level: 'READ_ONLY',
  sandbox_access_level: 'READ_ONLY',
  environment_access_level: 'USE_ONLY',
  target_access_level: 'USE_ONLY',
};

export type BuiltInSetType = 'DEVELOPER' | 'READ_ONLY' | 'PROJECT_MANAGER';

/** The three sets every workspace starts with (same values as migration 007). */
export const BUILT_IN_SETS: readonly { type: BuiltInSetType; name: string; levels: PermissionLevels }[] = [
  {
    type: 'DEVELOPER',
    name: 'Developer',
    levels: {
      pipeline_access_level: 'RUN_ONLY',
      project_team_access_level: 'READ_ONLY',
      repository_access_level: 'READ_WRITE',
      sandbox_access_level: 'READ_WRITE',
      environment_access_level: 'USE_ONLY',
      target_access_level: 'USE_ONLY',
    },
  },
  {
    type: 'READ_ONLY',
    name: 'Read only',
    levels: {
      pipeline_access_level: 'READ_ONLY',
      project_team_access_level: 'READ_ONLY',
      repository_access_level: 'READ_ONLY',
      sandbox_access_level: 'READ_ONLY',
      environment_access_level: 'USE_ONLY',
      target_access_level: 'READ_ONLY',
    },
  },
  {
    type: 'PROJECT_MANAGER',
    name: 'Project manager',
    levels: {
      pipeline_access_level: 'READ_WRITE',
      project_team_access_level: 'MANAGE',
      repository_access_level: 'MANAGE',
      sandbox_access_level: 'READ_WRITE',
      environment_access_level: 'MANAGE',
      target_access_level: 'MANAGE',
    },
  },
];

/** One entry of an object's `users` or `groups` permission list. */
export interface AccessEntry {
  id: number;
  access_level: ObjectAccess;
}

/** Permissions stored on a pipeline, environment or integration. */
export interface ObjectPermissions {
  others: ObjectAccess;
  admins?: ObjectAccess;
  users: AccessEntry[];
  groups: AccessEntry[];
}

/**
 * A caller's level on one object: their own entry wins, then the best of their groups' entries, then
 * `others`; DEFAULT at any step falls through to the next, and in the end to `inherited` (the level the
 * caller's project role or workspace role gives).
 */
export function objectLevel(
  permissions: ObjectPermissions | null,
  caller: { userId: number; groupIds: readonly number[] },
  inherited: AccessLevel,
): AccessLevel {
  if (!permissions) return inherited;
  const own = permissions.users.find((u) => u.id === caller.userId);
  if (own && own.access_level !== 'DEFAULT') return own.access_level;
  const fromGroups = permissions.groups
    .filter((g) => caller.groupIds.includes(g.id) && g.access_level !== 'DEFAULT')
    .map((g) => g.access_level as AccessLevel);
  if (fromGroups.length > 0) return highest(fromGroups);
  if (permissions.others !== 'DEFAULT') return permissions.others;
  return inherited;
}
