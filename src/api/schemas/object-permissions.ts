import { Type } from '@sinclair/typebox';
import type { ObjectAccess, ObjectPermissions } from '../../domain/access-levels.ts';
import type { Db } from '../../store/database.ts';
import { listGroups } from '../../store/groups.ts';
import { memberIds } from '../../store/members.ts';
import type { WorkspaceRow } from '../../store/schema.ts';
import { badRequest } from '../errors.ts';
import { OneOf } from './common.ts';

/**
 * Buddy's per-object `permissions`: `others` and per-user/per-group entries with the object's levels.
 * `users`/`groups` are always sent by Buddy's clients, null when unset (an empty list then).
 */
export function ObjectPermissionsSchema<const T extends readonly ObjectAccess[]>(levels: T) {
  const Level = OneOf(levels);
  const Entries = Type.Union([
    Type.Array(
      Type.Object({ id: Type.Integer({ minimum: 1 }), access_level: Level }, { additionalProperties: true }),
      { maxItems: 1000 },
    ),
    Type.Null(),
  ]);
  return Type.Object(
    { others: Level, users: Type.Optional(Entries), groups: Type.Optional(Entries) },
    { additionalProperties: false },
  );
}

/**
 * The permissions as stored (null lists empty, only id and access_level kept), after checking that every
 * user is a member of the workspace and every group one of its groups.
 */
export async function checkedPermissions(
  db: Db,
  ws: WorkspaceRow,
  p: {
    others: ObjectAccess;
    users?: { id: number; access_level: ObjectAccess }[] | null;
    groups?: { id: number; access_level: ObjectAccess }[] | null;
  },
): Promise<ObjectPermissions> {
  const users = (p.users ?? []).map((u) => ({ id: u.id, access_level: u.access_level }));
  const groups = (p.groups ?? []).map((g) => ({ id: g.id, access_level: g.access_level }));
  const members = await memberIds(db, ws.id);
  const unknownUser = users.find((u) => !members.has(u.id));
  if (unknownUser)
    throw badRequest(`permissions.users: ${unknownUser.id} is not a member of workspace "${ws.domain}"`);
  const known = new Set((await listGroups(db, ws.id)).map((g) => g.id));
  const unknownGroup = groups.find((g) => !known.has(g.id));
  if (unknownGroup)
    throw badRequest(`permissions.groups: group ${unknownGroup.id} not found in workspace "${ws.domain}"`);
  return { others: p.others, users, groups };
}
