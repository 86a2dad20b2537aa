import type { CommitInfo } from '../../repo/index.ts';
import type { StoredAction } from '../../store/actions.ts';
import type { Pipeline } from '../../store/pipelines.ts';
import type {
  ActionExecutionRow,
  EnvironmentRow,
  ExecutionRow,
  ProjectRow,
  UserRow,
  WorkspaceRow,
} from '../../store/schema.ts';
import type { InlineVariable } from '../../domain/pipeline.ts';
import { presentVariable } from '../../secrets/variables.ts';
import { presentEnvironmentRef } from './variable.ts';
import { pinnedPackageOf, type PinnedPackage } from '../../engine/package-pin.ts';
import { presentPackageRef, presentVersion } from './package.ts';
import { parseJson } from '../../store/time.ts';
import type { ActionSettings } from '../../domain/action.ts';
import { presentMember } from './identity.ts';
import { presentPipeline } from './pipeline.ts';
import type { Urls } from './urls.ts';

export interface ExecutionView {
  /** Environments the presented executions ran in, by id. */
  environments: Map<string, EnvironmentRow>;
  ws: WorkspaceRow;
  project: ProjectRow;
  pipeline: Pipeline;
  users: Map<number, UserRow>;
  /** The workspace's admin members (workspaceAdminIds). */
  admins: ReadonlySet<number>;
}

/** A commit author or committer: a member when the email matches a user, else the git identity. */
function person(urls: Urls, view: ExecutionView, name: string, email: string): Record<string, unknown> {
  const user = [...view.users.values()].find((u) => u.email === email);
  if (user) return presentMember(urls, view.ws, user, view.admins)!;
  return {
    url: null,
    html_url: null,
    id: null,
    name,
    avatar_url: null,
    email,
    admin: false,
    workspace_owner: false,
  };
}

function revision(
  urls: Urls,
  view: ExecutionView,
  commitJson: string | null,
): Record<string, unknown> | null {
  if (!commitJson) return null;
  const c = parseJson<CommitInfo>(commitJson);
  return {
    ...urls.pair(`${urls.project(view.ws.domain, view.project.name)}/repository/commits/${c.revision}`),
    revision: c.revision,
    author_date: c.authorDate,
    commit_date: c.commitDate,
    message: c.message,
    committer: person(urls, view, c.committerName, c.committerEmail),
    author: person(urls, view, c.authorName, c.authorEmail),
  };
}

export function presentActionExecution(
  urls: Urls,
  view: ExecutionView,
  e: ExecutionRow,
  a: ActionExecutionRow,
  current?: StoredAction,
): Record<string, unknown> {
  const snapshot = parseJson<{ name: string; type: string; settings: ActionSettings }>(a.action_snapshot);
  const base = urls.execution(view.ws.domain, view.project.name, view.pipeline.id, e.id);
  return {
    ...urls.pair(`${base}/action_executions/${a.id}`),
    action_execution_id: a.id,
    start_date: a.start_date,
    finish_date: a.finish_date,
    error_message: a.error_message,
    status: a.status,
    progress: a.progress,
    log_lines: a.log_lines,
    action: {
      ...urls.pair(urls.action(view.ws.domain, view.project.name, view.pipeline.id, a.action_id)),
      id: a.action_id,
      name: snapshot.name,
      type: snapshot.type,
      current_revision: e.revision,
      trigger_time: snapshot.settings.trigger_time,
      run_next: snapshot.settings.run_next,
      disabled: snapshot.settings.disabled,
      timeout: snapshot.settings.timeout,
      ignore_errors: snapshot.settings.ignore_errors,
      last_execution_status: current?.lastExecutionStatus ?? a.status,
    },
    terminator_id: a.terminator_id,
    termination_date: a.termination_date,
    approver_id: a.approver_id,
    approval_date: a.approval_date,
    passed_variables: parseJson<InlineVariable[]>(a.passed_variables).map(presentVariable),
    outputted_variables: parseJson<InlineVariable[]>(a.outputted_variables).map(presentVariable),
  };
}

/** An execution shaped like seed 000's example response. */
export function presentExecution(
  urls: Urls,
  view: ExecutionView,
  e: ExecutionRow,
  actions: readonly ActionExecutionRow[],
  currentActions: readonly StoredAction[] = [],
): Record<string, unknown> {
  const projectPath = urls.project(view.ws.domain, view.project.name);
  return {
    ...urls.pair(urls.execution(view.ws.domain, view.project.name, view.pipeline.id, e.id)),
    id: e.id,
    start_date: e.start_date,
    finish_date: e.finish_date,
    triggered_on: e.triggered_on,
    priority: e.priority,
    refresh: e.refresh === 1,
    clear_cache: e.clear_cache === 1,
    status: e.status,
    comment: e.comment,
    error_message: e.error_message,
    // Gantry's own: the remote worker that runs (ran) it, and why a queued run is not starting.
    worker: e.worker,
    wait_reason: e.status === 'ENQUEUED' ? e.wait_reason : null,
    delay_until: e.delay_until,
    branch: e.branch
      ? {
          ...urls.pair(`${projectPath}/repository/branches/${encodeURIComponent(e.branch)}`),
          name: e.branch,
          default: e.branch === view.project.default_branch,
        }
      : null,
    tag: e.tag
      ? { ...urls.pair(`${projectPath}/repository/tags/${encodeURIComponent(e.tag)}`), name: e.tag }
      : null,
    to_revision: revision(urls, view, e.commit_info),
    from_revision: revision(urls, view, e.from_commit_info),
    changed_files: e.changeset === null ? null : parseJson<string[]>(e.changeset),
    creator: presentMember(urls, view.ws, view.users.get(e.creator_id), view.admins),
    environment: e.environment_id
      ? presentEnvironmentRef(
          urls,
          view.ws,
          view.environments.get(e.environment_id) ?? deletedEnvironment(e.environment_id),
        )
      : null,
    ...presentPin(urls, view.ws, pinnedPackageOf(e)),
    pipeline: presentPipeline(
      urls,
      view.ws,
      view.project,
      view.pipeline,
      view.users.get(view.pipeline.creatorId),
      view.admins,
    ),
    action_executions: actions.map((a) =>
      presentActionExecution(
        urls,
        view,
        e,
        a,
        currentActions.find((c) => c.id === a.action_id),
      ),
    ),
  };
}

/** An environment deleted after the execution ran: its id is all that is left. */
function deletedEnvironment(id: string): EnvironmentRow {
  return {
    id,
    workspace_id: 0,
    project_id: null,
    name: '(deleted)',
    identifier: '',
    tags: '[]',
    icon: null,
    public_url: null,
    create_date: '',
    settings: '{}',
  };
}

/** The `package` and `package_version` objects of an execution, as pinned when it was accepted. */
function presentPin(
  urls: Urls,
  ws: WorkspaceRow,
  pin: PinnedPackage | null,
): { package: unknown; package_version: unknown } {
  if (!pin) return { package: null, package_version: null };
  return {
    package: presentPackageRef(urls, ws, pin.package),
    package_version: presentVersion(urls, ws, pin.package.id, pin.version),
  };
}
