import { Type } from '@sinclair/typebox';
import { Links, Member, Nullable } from './identity.ts';

/** Response schemas of projects, variables and environments (buddy-api-clients.md §C.2, C.7, C.8). */

const Paging = {
  page: Type.Integer(),
  page_size: Type.Integer(),
  total_page_count: Type.Integer(),
  element_count: Type.Integer(),
  total_element_count: Type.Integer(),
};

export const Project = Type.Object(
  {
    ...Links,
    name: Type.String(),
    display_name: Type.String(),
    status: Type.String(),
    create_date: Type.String(),
    created_by: Nullable(Member),
    default_branch: Type.String(),
    http_repository: Type.String(),
    ssh_repository: Type.String({ description: 'Gantry serves git over HTTP only: the HTTP clone URL' }),
    custom_repo_url: Nullable(Type.String()),
    custom_repo_user: Nullable(Type.String()),
    custom_repo_pass: Nullable(Type.String({ description: 'only ever "!encrypted"' })),
    custom_repo_ssh_key_id: Nullable(Type.Integer()),
    external_project_id: Nullable(Type.String()),
    git_lab_project_id: Nullable(Type.String()),
    integration: Nullable(Type.Object({ hash_id: Type.String() })),
    access: Type.String(),
    allow_pull_requests: Type.Boolean(),
    fetch_submodules: Type.Boolean(),
    fetch_submodules_env_key: Type.String(),
    update_default_branch_from_external: Type.Boolean(),
    without_repository: Type.Boolean(),
  },
  { title: 'Project' },
);
export const ProjectList = Type.Object({ ...Links, ...Paging, projects: Type.Array(Project) });

const Ref = (extra: Record<string, ReturnType<typeof Type.String>>) =>
  Type.Object({ ...Links, ...extra }, { additionalProperties: true });

export const Variable = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    key: Type.String(),
    value: Type.String({ description: 'encrypted values only as "!encrypted ..."' }),
    type: Type.String(),
    description: Nullable(Type.String()),
    encrypted: Type.Boolean(),
    settable: Type.Boolean(),
    file_place: Type.String(),
    file_path: Nullable(Type.String()),
    file_chmod: Nullable(Type.String()),
    public_value: Nullable(Type.String({ description: 'SSH_KEY: the OpenSSH public key' })),
    key_fingerprint: Nullable(Type.String()),
    checksum: Nullable(Type.String()),
    project: Nullable(Ref({ name: Type.String(), display_name: Type.String() })),
    pipeline: Nullable(Type.Object({ ...Links, id: Type.Integer(), name: Type.String() })),
    action: Nullable(Type.Object({ ...Links, id: Type.Integer(), name: Type.String() })),
    environment: Nullable(
      Type.Object({
        ...Links,
        id: Type.String(),
        name: Type.String(),
        identifier: Type.String(),
        scope: Type.String(),
      }),
    ),
  },
  { title: 'Variable' },
);
export const VariableList = Type.Object({ ...Links, variables: Type.Array(Variable) });

const Grant = Type.Object({ id: Type.Integer(), access_level: Type.String() });

export const Environment = Type.Object(
  {
    ...Links,
    id: Type.String(),
    name: Type.String(),
    identifier: Type.String(),
    scope: Type.String(),
    tags: Type.Array(Type.String()),
    icon: Type.String(),
    public_url: Type.String(),
    pipelines_access_level: Type.String(),
    environments_access_level: Type.String(),
    allowed_pipelines: Type.Array(
      Type.Object({ project: Type.String(), pipeline: Type.String(), access_level: Type.String() }),
    ),
    allowed_environments: Type.Array(
      Type.Object({ project: Type.String(), environment: Type.String(), access_level: Type.String() }),
    ),
    base_only: Type.Boolean(),
    base_environments: Type.Array(Type.String()),
    permissions: Nullable(
      Type.Object({ others: Type.String(), users: Type.Array(Grant), groups: Type.Array(Grant) }),
    ),
    targets: Type.Array(Type.Object({}, { additionalProperties: true })),
    project: Nullable(Ref({ name: Type.String(), display_name: Type.String() })),
    variables: Type.Array(Variable),
    create_date: Type.String(),
  },
  { title: 'Environment' },
);
export const EnvironmentList = Type.Object({ ...Links, environments: Type.Array(Environment) });
