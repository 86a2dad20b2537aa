import { Type } from '@sinclair/typebox';
import { Links, Member } from './identity.ts';
import { InlineVariable, Paging, Pipeline } from './pipeline-response.ts';
import { Nullable } from './response.ts';

/** Response schemas of executions, action executions and logs (seed 000, buddy-api-clients.md §C.6). */

const Str = Type.String();
const NullableStr = Nullable(Type.String());

/** A commit's author or committer: a member when the e-mail is a user's, else only the git identity (links and id null). */
const CommitPerson = Type.Object({
  url: NullableStr,
  html_url: NullableStr,
  id: Nullable(Type.Integer()),
  name: Str,
  avatar_url: NullableStr,
  email: Str,
  admin: Type.Boolean(),
  workspace_owner: Type.Boolean(),
  auto_assign_to_new_projects: Type.Optional(Type.Boolean()),
});

const Revision = Type.Object({
  ...Links,
  revision: Str,
  author_date: Str,
  commit_date: Str,
  message: Str,
  committer: CommitPerson,
  author: CommitPerson,
});

export const PackageRef = Type.Object({
  ...Links,
  id: Str,
  type: Str,
  name: Str,
  identifier: Str,
  scope: Str,
  size: Type.Integer(),
});

export const PackageVersion = Type.Object(
  {
    ...Links,
    version_url: Type.String({ description: 'where the version is downloaded' }),
    id: Str,
    version: Str,
    size: Type.Integer({ description: 'bytes of the extracted files' }),
    created_date: Str,
  },
  { title: 'PackageVersion' },
);

export const EnvironmentRef = Type.Object({
  ...Links,
  id: Str,
  name: Str,
  identifier: Str,
  scope: Str,
});

export const ActionExecution = Type.Object(
  {
    ...Links,
    action_execution_id: Str,
    start_date: NullableStr,
    finish_date: NullableStr,
    error_message: NullableStr,
    status: Str,
    progress: Type.Integer(),
    log_lines: Type.Integer(),
    action: Type.Object({
      ...Links,
      id: Type.Integer(),
      name: Str,
      type: Str,
      current_revision: NullableStr,
      trigger_time: Str,
      run_next: Str,
      disabled: Type.Boolean(),
      timeout: Nullable(Type.Integer()),
      ignore_errors: Type.Boolean(),
      last_execution_status: Str,
    }),
    terminator_id: Nullable(Type.Integer()),
    termination_date: NullableStr,
    approver_id: Nullable(Type.Integer()),
    approval_date: NullableStr,
    passed_variables: Type.Array(InlineVariable),
    outputted_variables: Type.Array(InlineVariable),
  },
  { title: 'ActionExecution' },
);

export const Execution = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    start_date: NullableStr,
    finish_date: NullableStr,
    triggered_on: Str,
    priority: Str,
    refresh: Type.Boolean(),
    clear_cache: Type.Boolean(),
    status: Str,
    comment: NullableStr,
    error_message: NullableStr,
    worker: Nullable(Type.String({ description: "Gantry's own: the remote worker that runs (ran) it" })),
    wait_reason: Nullable(Type.String({ description: "Gantry's own: why a queued run is not starting" })),
    delay_until: NullableStr,
    branch: Nullable(Type.Object({ ...Links, name: Str, default: Type.Boolean() })),
    tag: Nullable(Type.Object({ ...Links, name: Str })),
    to_revision: Nullable(Revision),
    from_revision: Nullable(Revision),
    changed_files: Nullable(Type.Array(Str)),
    creator: Nullable(Member),
    environment: Nullable(EnvironmentRef),
    package: Nullable(PackageRef),
    package_version: Nullable(PackageVersion),
    pipeline: Pipeline,
    action_executions: Type.Array(ActionExecution),
  },
  { title: 'Execution' },
);

export const ExecutionList = Type.Object({ ...Links, ...Paging, executions: Type.Array(Execution) });

export const LogPage = Type.Object(
  {
    ...Links,
    offset: Type.Integer(),
    limit: Type.Integer(),
    element_count: Type.Integer(),
    total_element_count: Type.Integer(),
    logs: Type.Array(Str),
  },
  { title: 'ActionExecutionLogs' },
);
