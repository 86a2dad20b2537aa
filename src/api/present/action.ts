import type { StoredAction } from '../../store/actions.ts';
import type { Pipeline } from '../../store/pipelines.ts';
import type { ProjectRow, WorkspaceRow } from '../../store/schema.ts';
import { presentVariable, shownSealed } from '../../secrets/variables.ts';
import { presentPipelineRef } from './pipeline.ts';
import type { Urls } from './urls.ts';

/** An action as seed 004 shows it, with every common field; secrets only in sealed form. */
export function presentAction(
  urls: Urls,
  ws: WorkspaceRow,
  project: ProjectRow,
  pipeline: Pipeline,
  a: StoredAction,
  previousId: number | null,
): Record<string, unknown> {
  const { variables, ...settings } = a.settings;
  // Object.assign rather than spreads, as in presentPipeline: same keys and order, far cheaper per item.
  return Object.assign(
    urls.pair(urls.action(ws.domain, project.name, pipeline.id, a.id)),
    {
      id: a.id,
      name: a.name,
      type: a.type,
      after_action_id: previousId,
      last_execution_status: a.lastExecutionStatus,
      current_revision: pipeline.lastExecutionRevision,
    },
    settings,
    {
      password: a.hasPassword ? shownSealed(a.sealedSecrets) : null,
      variables: variables.map(presentVariable),
      pipeline: presentPipelineRef(urls, ws, project, pipeline),
    },
  );
}

/** The action nested in an action execution: the fields seed 000 shows. */
export function presentActionRef(
  urls: Urls,
  ws: WorkspaceRow,
  project: ProjectRow,
  pipelineId: number,
  a: StoredAction,
  revision: string | null,
): Record<string, unknown> {
  return {
    ...urls.pair(urls.action(ws.domain, project.name, pipelineId, a.id)),
    id: a.id,
    name: a.name,
    type: a.type,
    current_revision: revision,
    trigger_time: a.settings.trigger_time,
    run_next: a.settings.run_next,
    disabled: a.settings.disabled,
    timeout: a.settings.timeout,
    ignore_errors: a.settings.ignore_errors,
    last_execution_status: a.lastExecutionStatus,
  };
}
