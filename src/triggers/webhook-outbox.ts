import type { Transaction } from 'kysely';
import type { Urls } from '../api/present/urls.ts';
import type { Db } from '../store/database.ts';
import type { Database, ProjectRow } from '../store/schema.ts';
import type { TransitionHook } from '../store/transition.ts';
import { enqueueDeliveries, webhooksFor } from '../store/webhooks.ts';
import { now } from '../store/time.ts';
import type { RefUpdate } from './ref-updates.ts';

export const WEBHOOK_EVENTS = [
  'PUSH',
  'EXECUTION_STARTED',
  'EXECUTION_SUCCESSFUL',
  'EXECUTION_FAILED',
  'EXECUTION_FINISHED',
  // Gantry's own: a run stopped at a WAIT_FOR_APPLY gate and waits for someone to approve it.
  'EXECUTION_WAITING_FOR_APPLY',
] as const;

/** The webhook events an execution status reports. */
function eventsOf(status: string): string[] {
  switch (status) {
    case 'INPROGRESS':
      return ['EXECUTION_STARTED'];
    case 'SUCCESSFUL':
      return ['EXECUTION_SUCCESSFUL', 'EXECUTION_FINISHED'];
    case 'FAILED':
      return ['EXECUTION_FAILED', 'EXECUTION_FINISHED'];
    case 'TERMINATED':
    case 'SKIPPED':
      return ['EXECUTION_FINISHED'];
    case 'WAITING_FOR_APPLY':
      return ['EXECUTION_WAITING_FOR_APPLY'];
    default:
      return [];
  }
}

async function enqueueFor(
  w: Db | Transaction<Database>,
  project: Pick<ProjectRow, 'workspace_id' | 'name'>,
  event: string,
  payload: Record<string, unknown>,
): Promise<number> {
  const hooks = (await webhooksFor(w, project.workspace_id, event)).filter((h) => {
    const projects = JSON.parse(h.projects) as string[];
    return projects.length === 0 || projects.includes(project.name);
  });
  const body = JSON.stringify({ ...payload, type: event, date: now() });
  await enqueueDeliveries(
    w,
    hooks.map((h) => ({ webhook_id: h.id, event, payload: body })),
  );
  return hooks.length;
}

/**
 * The engine's transition hook that writes outbox rows for EXECUTION_* webhooks inside the status
 * change's own transaction: a delivery exists exactly when the change it reports committed.
 * `onWritten` is told the execution whose change wrote rows (still inside the transaction).
 */
export function webhookOutboxHook(
  urls: Urls,
  onWritten: (executionId: number) => void = () => {},
): TransitionHook {
  return async (trx, change) => {
    if (!change.executionMove) return;
    const events = eventsOf(change.executionMove.to);
    if (events.length === 0) return;
    const e = change.execution;
    const row = await trx
      .selectFrom('pipelines')
      .innerJoin('projects', 'projects.id', 'pipelines.project_id')
      .innerJoin('workspaces', 'workspaces.id', 'projects.workspace_id')
      .select([
        'pipelines.id as pipeline_id',
        'pipelines.name as pipeline_name',
        'pipelines.identifier as pipeline_identifier',
        'projects.name as project_name',
        'projects.display_name as project_display_name',
        'projects.workspace_id as workspace_id',
        'workspaces.domain as domain',
      ])
      .where('pipelines.id', '=', e.pipeline_id)
      .executeTakeFirst();
    if (!row) return;
    const payload = {
      workspace: { domain: row.domain },
      project: { name: row.project_name, display_name: row.project_display_name },
      pipeline: {
        ...urls.pair(urls.pipeline(row.domain, row.project_name, row.pipeline_id)),
        id: row.pipeline_id,
        name: row.pipeline_name,
        identifier: row.pipeline_identifier,
      },
      execution: {
        ...urls.pair(urls.execution(row.domain, row.project_name, row.pipeline_id, e.id)),
        id: e.id,
        status: e.status,
        triggered_on: e.triggered_on,
        branch: e.branch === null ? null : { name: e.branch },
        tag: e.tag === null ? null : { name: e.tag },
        to_revision: e.revision === null ? null : { revision: e.revision },
        start_date: e.start_date,
        finish_date: e.finish_date,
        comment: e.comment,
      },
    };
    const project = { workspace_id: row.workspace_id, name: row.project_name };
    let written = 0;
    for (const event of events) written += await enqueueFor(trx, project, event, payload);
    if (written > 0) onWritten(e.id);
  };
}

/** Outbox rows for PUSH webhooks after a push to a hosted repository (one delivery per push, all its refs). */
export async function enqueuePushWebhooks(
  db: Db,
  domain: string,
  project: ProjectRow,
  updates: readonly RefUpdate[],
  pusher: { id: number; email: string },
): Promise<void> {
  if (updates.length === 0) return;
  await db.transaction().execute((trx) =>
    enqueueFor(trx, project, 'PUSH', {
      workspace: { domain },
      project: { name: project.name, display_name: project.display_name },
      pusher,
      refs: updates.map((u) => ({ ref: u.ref, before: u.before, after: u.after })),
    }),
  );
}
