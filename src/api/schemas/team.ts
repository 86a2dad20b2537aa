import { Type } from '@sinclair/typebox';
import { Links, Member } from './identity.ts';

/** Response schemas of members, groups, permission sets and project teams (buddy-api-clients.md §C.3–C.5). */

const Level = Type.String({ description: 'DENIED, READ_ONLY, RUN_ONLY, READ_WRITE, MANAGE, USE_ONLY...' });

export const PermissionSet = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    name: Type.String(),
    description: Type.String(),
    type: Type.String({ description: 'DEVELOPER, READ_ONLY, PROJECT_MANAGER (built in) or CUSTOM' }),
    pipeline_access_level: Level,
    project_team_access_level: Level,
    repository_access_level: Level,
    sandbox_access_level: Level,
    environment_access_level: Level,
    target_access_level: Level,
  },
  { title: 'PermissionSet' },
);
export const PermissionSetList = Type.Object({ ...Links, permission_sets: Type.Array(PermissionSet) });

export const WorkspaceMember = Type.Object(
  {
    ...Member.properties,
    auto_assign_permission_set_id: Type.Optional(Type.Integer()),
    invitation_url: Type.Optional(
      Type.String({ description: 'after inviting a new user: the one-time link to set a password' }),
    ),
  },
  { title: 'WorkspaceMember' },
);
export const WorkspaceMemberList = Type.Object({ ...Links, members: Type.Array(WorkspaceMember) });

export const GroupMember = Type.Object(
  {
    ...Member.properties,
    auto_assign_permission_set_id: Type.Optional(Type.Integer()),
    status: Type.String(),
  },
  { title: 'GroupMember' },
);
export const GroupMemberList = Type.Object({ ...Links, members: Type.Array(GroupMember) });

export const Group = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    name: Type.String(),
    description: Type.String(),
    auto_assign_to_new_projects: Type.Boolean(),
    auto_assign_permission_set_id: Type.Optional(Type.Integer()),
  },
  { title: 'Group' },
);
export const GroupList = Type.Object({ ...Links, groups: Type.Array(Group) });

export const ProjectMember = Type.Object(
  {
    ...Member.properties,
    auto_assign_permission_set_id: Type.Optional(Type.Integer()),
    permission_set: PermissionSet,
  },
  { title: 'ProjectMember' },
);
export const ProjectMemberList = Type.Object({ ...Links, members: Type.Array(ProjectMember) });

export const ProjectGroup = Type.Object(
  { ...Group.properties, permission_set: PermissionSet },
  { title: 'ProjectGroup' },
);
export const ProjectGroupList = Type.Object({ ...Links, groups: Type.Array(ProjectGroup) });
