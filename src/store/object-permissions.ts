import type { ObjectPermissions } from '../domain/access-levels.ts';
import type { Db } from './database.ts';
import { parseJson } from './time.ts';

/**
 * Which object a permission row belongs to. (A pipeline's permissions live in its settings, with the rest
 * of Buddy's pipeline fields.)
 */
export type PermissionTarget = { kind: 'environment'; id: string } | { kind: 'integration'; id: number };

function rowToPermissions(r: {
  others: string;
  admins: string | null;
  users: string;
  groups: string;
}): ObjectPermissions {
  return {
    others: r.others as ObjectPermissions['others'],
    ...(r.admins !== null ? { admins: r.admins as ObjectPermissions['others'] } : {}),
    users: parseJson(r.users),
    groups: parseJson(r.groups),
  };
}

/** The object's stored permissions, or null when none were ever set (everyone DEFAULT). */
export async function getObjectPermissions(
  db: Db,
  target: PermissionTarget,
): Promise<ObjectPermissions | null> {
  const row =
    target.kind === 'environment'
      ? await db
          .selectFrom('environment_permissions')
          .selectAll()
          .where('environment_id', '=', target.id)
          .executeTakeFirst()
      : await db
          .selectFrom('integration_permissions')
          .selectAll()
          .where('integration_id', '=', target.id)
          .executeTakeFirst();
  return row ? rowToPermissions(row) : null;
}

/** Replaces the object's permissions whole (Buddy's PATCH semantics for `permissions`). */
export async function setObjectPermissions(
  db: Db,
  target: PermissionTarget,
  p: ObjectPermissions,
): Promise<void> {
  const values = {
    others: p.others,
    admins: p.admins ?? null,
    users: JSON.stringify(p.users),
    groups: JSON.stringify(p.groups),
  };
  if (target.kind === 'environment')
    await db
      .insertInto('environment_permissions')
      .values({ ...values, environment_id: target.id })
      .onConflict((oc) => oc.column('environment_id').doUpdateSet(values))
      .execute();
  else
    await db
      .insertInto('integration_permissions')
      .values({ ...values, integration_id: target.id })
      .onConflict((oc) => oc.column('integration_id').doUpdateSet(values))
      .execute();
}
