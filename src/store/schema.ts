import type { ColumnType, Generated, Selectable } from 'kysely';
import type { ActionExecutionStatus, ExecutionStatus } from '../domain/status.ts';

/**
 * Table shapes as Kysely sees them. Booleans are stored as 0/1 integers and structured settings as
 * JSON text so that the same queries run on SQLite and PostgreSQL.
 */
export interface Database {
  users: UsersTable;
  tokens: TokensTable;
  workspaces: WorkspacesTable;
  projects: ProjectsTable;
  pipelines: PipelinesTable;
  actions: ActionsTable;
  executions: ExecutionsTable;
  action_executions: ActionExecutionsTable;
  execution_events: ExecutionEventsTable;
  meta: MetaTable;
  variables: VariablesTable;
  environments: EnvironmentsTable;
  integrations: IntegrationsTable;
  packages: PackagesTable;
  package_versions: PackageVersionsTable;
  package_contents: PackageContentsTable;
  package_chunks: PackageChunksTable;
  user_emails: UserEmailsTable;
  user_keys: UserKeysTable;
  password_links: PasswordLinksTable;
  workspace_members: WorkspaceMembersTable;
  permission_sets: PermissionSetsTable;
  member_groups: MemberGroupsTable;
  group_members: GroupMembersTable;
  project_members: ProjectMembersTable;
  project_groups: ProjectGroupsTable;
  environment_permissions: ObjectPermissionsTable & { environment_id: string };
  integration_permissions: ObjectPermissionsTable & { integration_id: number };
  pipeline_trigger_webhooks: PipelineTriggerWebhooksTable;
  pipeline_schedules: PipelineSchedulesTable;
  workspace_webhooks: WorkspaceWebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  stream_tickets: StreamTicketsTable;
  workers: WorkersTable;
  pipeline_filesystems: PipelineFilesystemsTable;
  external_repositories: ExternalRepositoriesTable;
  log_chunks: LogChunksTable;
  server_leases: ServerLeasesTable;
}

export interface StreamTicketsTable {
  ticket_hash: string; // SHA-256 of the ticket, hex
  token_id: string;
  path: string;
  expires_at: string; // ISO date
  create_date: string;
}

/** A remote worker (gantry worker) by name, with its lease. */
export interface WorkersTable {
  name: string;
  /** Random per worker process: a restarted worker is a new session. */
  session: string;
  token_id: string;
  tags: string; // JSON string[]
  cpu: string;
  concurrency: number;
  version: string;
  state: 'ONLINE' | 'LOST' | 'STOPPED';
  registered_at: string;
  heartbeat_at: string;
  lease_until: string;
}
export type WorkerRow = Selectable<WorkersTable>;

/** The lease of a server's local runner, by its worker_session (`local:<instance label>`). */
export interface ServerLeasesTable {
  session: string;
  state: 'ONLINE' | 'LOST' | 'STOPPED';
  started_at: string;
  heartbeat_at: string;
  lease_until: string;
}
export type ServerLeaseRow = Selectable<ServerLeasesTable>;

/** Which runner holds a pipeline's filesystem ('' = the server's local runner). */
export interface PipelineFilesystemsTable {
  pipeline_id: number;
  worker: string;
  update_date: string;
}

/** Per external repository (custom_repo_url): what its change triggers are computed against. */
export interface ExternalRepositoriesTable {
  project_id: number;
  source: string | null; // the custom_repo_url the refs were read from
  refs: string | null; // JSON {ref: sha} of the last look; null before the first (no baseline)
  version: number; // bumped with every change of refs (compare-and-set)
  poll_interval: number | null; // seconds; null = the server setting; 0 = never
  next_poll_at: string | null;
  last_poll_at: string | null;
  last_poll_error: string | null;
  push_secret: string | null; // sealed; what a forge signs its push webhooks with
}

export interface WorkspaceWebhooksTable {
  id: Generated<number>;
  workspace_id: number;
  target_url: string;
  secret_key: string | null; // sealed
  events: string; // JSON string[]
  projects: string; // JSON string[] of project names; empty = all
  create_date: string;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: number;
  event: string;
  payload: string; // the JSON body sent
  status: string; // PENDING | DELIVERED | FAILED
  attempts: number;
  next_attempt_at: string;
  claimed_until: string | null;
  post_date: string | null;
  response_status: string | null;
  response_body: string | null;
  create_date: string;
}

export interface PipelineSchedulesTable {
  pipeline_id: number;
  event_index: number;
  spec: string; // JSON of the SCHEDULE event the slot belongs to
  next_run_at: string; // ISO-8601 UTC
}

export interface PipelineTriggerWebhooksTable {
  pipeline_id: number;
  token_hash: string; // sha256 hex of the secret
  totp_secret: string | null; // sealed base32 key
  totp_last_step: ColumnType<number, number | undefined, number>;
  create_date: string;
}

/** A JSON settings column with a database default of `{}`: optional on insert. */
type JsonSettings = ColumnType<string, string | undefined, string>;

export interface MetaTable {
  key: string;
  value: string;
}

export interface UsersTable {
  id: Generated<number>;
  name: string;
  email: string;
  /** Server administrator: may do everything in every workspace (the user created on first start). */
  admin: number;
  create_date: string;
  /** scrypt hash (see secrets/passwords.ts); null until the user sets a password through a one-time link. */
  password_hash: string | null;
}

export interface TokensTable {
  id: string;
  user_id: number;
  name: string;
  token_hash: string;
  scopes: string; // JSON string[]
  ip_restrictions: string; // JSON string[]
  workspace_restrictions: string; // JSON number[]: workspace ids (not domains, which can change hands)
  expires_at: string | null;
  create_date: string;
}

export interface WorkspacesTable {
  id: Generated<number>;
  domain: string;
  name: string;
  owner_id: number;
  frozen: number;
  create_date: string;
  /** Write-only (Buddy never returns it); kept so a client's value survives. */
  encryption_salt: string | null;
}

export interface ProjectsTable {
  id: Generated<number>;
  workspace_id: number;
  name: string;
  display_name: string;
  status: string;
  create_date: string;
  created_by: number;
  custom_repo_url: string | null;
  custom_repo_user: string | null;
  custom_repo_pass: string | null; // encrypted
  default_branch: string | null;
  settings: JsonSettings; // JSON ProjectSettings: Buddy's project fields not kept in a column
}

export interface PipelinesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  identifier: string;
  settings: string; // JSON: every Buddy pipeline field not kept in a column
  priority: string;
  concurrent_pipeline_runs: number;
  creator_id: number;
  create_date: string;
  last_execution_status: string;
  last_execution_revision: string | null;
  last_skipped_trigger: string | null; // JSON SkippedTrigger
}

export interface ActionsTable {
  id: Generated<number>;
  pipeline_id: number;
  position: number;
  type: string;
  name: string;
  settings: string; // JSON: the action's type-specific and common fields
  secrets: string; // encrypted JSON: passwords and other values never returned in clear
  last_execution_status: string;
  create_date: string;
}

export interface ExecutionsTable {
  id: Generated<number>;
  pipeline_id: number;
  status: ExecutionStatus;
  priority: string;
  /** Larger runs first: LOW=0, NORMAL=1, HIGH=2. */
  priority_rank: number;
  triggered_on: string;
  refresh: number;
  clear_cache: number;
  comment: string | null;
  branch: string | null;
  tag: string | null;
  revision: string | null;
  from_revision: string | null;
  commit_info: string | null; // JSON of the to_revision commit
  from_commit_info: string | null;
  changeset: string | null; // JSON string[] of changed paths
  request: string; // JSON: variables (encrypted values sealed), actions_to_run, environment, package
  environment_id: string | null;
  /** The package version the execution is pinned to (no foreign key: it may be deleted later). */
  package_version_id: string | null;
  package_info: string | null; // JSON PinnedPackage: the package and version as they were when pinned
  creator_id: number;
  enqueue_date: string;
  delay_until: string | null;
  start_date: string | null;
  finish_date: string | null;
  error_message: string | null;
  /** The remote worker running it (null: a server's local runner, or not started). */
  worker: string | null;
  worker_session: string | null;
  claim_date: string | null;
  /** Why a queued execution is not starting (no matching worker), shown on the execution. */
  wait_reason: string | null;
  /**
   * 1 from an APPLY until a runner claims the execution: that runner goes on after the approved gate
   * on the filesystem as it is (no checkout), where a retry checks the revision out again.
   */
  resume_pending: number;
}

export interface ActionExecutionsTable {
  id: string; // 24 hex characters, as Buddy's action_execution_id
  execution_id: number;
  action_id: number;
  position: number;
  status: ActionExecutionStatus;
  progress: number;
  start_date: string | null;
  finish_date: string | null;
  error_message: string | null;
  action_snapshot: string; // JSON of the action as it was when the execution was created
  container_id: string | null;
  log_lines: number;
  passed_variables: string; // JSON InlineVariable[] (encrypted values sealed)
  outputted_variables: string;
  terminator_id: number | null;
  termination_date: string | null;
  /** Who approved this WAIT_FOR_APPLY gate, and when (null elsewhere). */
  approver_id: number | null;
  approval_date: string | null;
}

export interface ExecutionEventsTable {
  id: Generated<number>;
  execution_id: number;
  type: string;
  payload: string;
  create_date: string;
}

export type UserRow = Selectable<UsersTable>;
export type TokenRow = Selectable<TokensTable>;
export type WorkspaceRow = Selectable<WorkspacesTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type PipelineRow = Selectable<PipelinesTable>;
export type ActionRow = Selectable<ActionsTable>;
export type ExecutionRow = Selectable<ExecutionsTable>;
export type ActionExecutionRow = Selectable<ActionExecutionsTable>;
export type ExecutionEventRow = Selectable<ExecutionEventsTable>;

export interface EnvironmentsTable {
  id: string; // 8 characters, as Buddy's environment ids
  workspace_id: number;
  project_id: number | null;
  name: string;
  identifier: string;
  tags: string; // JSON string[]
  icon: string | null;
  public_url: string | null;
  create_date: string;
  settings: JsonSettings; // JSON EnvironmentSettings: access levels, permissions, base environments
}

export interface VariablesTable {
  id: Generated<number>;
  workspace_id: number;
  project_id: number | null;
  pipeline_id: number | null;
  action_id: number | null;
  environment_id: string | null;
  key: string;
  value: string; // sealed when encrypted
  type: string; // VAR | FILE | SSH_KEY
  description: string | null;
  encrypted: number;
  settable: number;
  file_place: string; // CONTAINER | NONE
  file_path: string | null;
  file_chmod: string | null;
  create_date: string;
  /** SSH_KEY only: derived from the private key when it is saved. */
  public_value: string | null;
  key_fingerprint: string | null;
  checksum: string | null;
}

export type EnvironmentRow = Selectable<EnvironmentsTable>;
export type VariableRow = Selectable<VariablesTable>;

export interface IntegrationsTable {
  id: Generated<number>;
  workspace_id: number;
  hash_id: string; // 24 hex characters, as Buddy's hash_id
  identifier: string;
  name: string;
  type: string; // DOCKER_HUB | DOCKER_REGISTRY
  scope: string; // WORKSPACE
  username: string | null;
  password: string | null; // sealed
  host: string | null; // registry address (DOCKER_REGISTRY)
  create_date: string;
  project_id: number | null; // PROJECT scope
  settings: JsonSettings; // JSON: the type's non-secret fields, permissions, allowed pipelines
  secrets: string | null; // sealed JSON: the type's credentials other than `password`
}

export interface PackagesTable {
  id: string; // 8 characters, as Buddy's package ids
  workspace_id: number;
  project_id: number | null;
  type: string; // FILE
  name: string;
  identifier: string;
  create_date: string;
}

export interface PackageVersionsTable {
  id: string; // 8 characters
  package_id: string;
  version: string;
  size: number; // bytes of the extracted files
  archive_format: string; // tar | tar.gz: how the uploaded archive is stored
  archive_size: number;
  created_date: string;
}

/** A version's archive as uploaded, stored in the database (id = the version's id). */
export interface PackageContentsTable {
  id: string;
  sha256: string; // hex
  size: number; // bytes of the archive
  complete: number; // 1 once every chunk is written
  created_date: string;
}

export interface PackageChunksTable {
  content_id: string;
  seq: number; // 0, 1, …
  data: Buffer;
}

export type IntegrationRow = Selectable<IntegrationsTable>;
export type PackageRow = Selectable<PackagesTable>;
export type PackageVersionRow = Selectable<PackageVersionsTable>;

export interface UserEmailsTable {
  id: Generated<number>;
  user_id: number;
  email: string;
  confirmed: number;
  create_date: string;
}

export interface UserKeysTable {
  id: Generated<number>;
  user_id: number;
  title: string;
  content: string;
  create_date: string;
}

export type UserEmailRow = Selectable<UserEmailsTable>;
export type UserKeyRow = Selectable<UserKeysTable>;
export interface PasswordLinksTable {
  token_hash: string; // sha256 of the one-time token in the link
  user_id: number;
  expires_at: string;
  create_date: string;
}

export interface WorkspaceMembersTable {
  workspace_id: number;
  user_id: number; // a member's id is its user's id, in every workspace (as in Buddy)
  admin: number;
  auto_assign_to_new_projects: number;
  auto_assign_permission_set_id: number | null;
  create_date: string;
}

export interface PermissionSetsTable {
  id: Generated<number>;
  workspace_id: number;
  name: string;
  description: string;
  type: string; // DEVELOPER | READ_ONLY | PROJECT_MANAGER (built in) | CUSTOM
  pipeline_access_level: string;
  project_team_access_level: string;
  repository_access_level: string;
  sandbox_access_level: string;
  environment_access_level: string;
  target_access_level: string;
  create_date: string;
}

export interface MemberGroupsTable {
  id: Generated<number>;
  workspace_id: number;
  name: string;
  description: string;
  auto_assign_to_new_projects: number;
  auto_assign_permission_set_id: number | null;
  create_date: string;
}

export interface GroupMembersTable {
  group_id: number;
  user_id: number;
  status: string; // MEMBER | MANAGER
}

export interface ProjectMembersTable {
  project_id: number;
  user_id: number;
  permission_set_id: number;
}

export interface ProjectGroupsTable {
  project_id: number;
  group_id: number;
  permission_set_id: number;
}

/** Per-object permissions of environments and integrations; absent row = everyone DEFAULT. */
export interface ObjectPermissionsTable {
  others: string;
  admins: string | null; // integrations only
  users: string; // JSON [{id, access_level}]
  groups: string; // JSON [{id, access_level}]
}

export type WorkspaceMemberRow = Selectable<WorkspaceMembersTable>;
export type PermissionSetRow = Selectable<PermissionSetsTable>;
export type MemberGroupRow = Selectable<MemberGroupsTable>;

/** Whole lines of an action's log, copied from the server's file for servers sharing PostgreSQL (014-02). */
export interface LogChunksTable {
  action_execution_id: string;
  first_line: number;
  line_count: number;
  byte_end: number;
  data: Buffer;
}
