/** Live updates: one event stream per workspace (every execution's status) or per execution. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { openStream, path } from './api.ts';

export interface ExecutionEvent {
  execution_id: number;
  pipeline_id: number;
  project_name: string;
  status?: string;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

/** Calls `onEvent` for each status change in the workspace while the page is shown. */
export function useWorkspaceEvents(workspace: string, onEvent: (e: ExecutionEvent) => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(
    () =>
      openStream(`${path('workspaces', workspace)}/events`, {
        on: {
          execution: (data) => latest.current(JSON.parse(data) as ExecutionEvent),
          action_execution: (data) => latest.current(JSON.parse(data) as ExecutionEvent),
        },
        onState: setState,
      }),
    [workspace],
  );
  return state;
}

/** Follows one execution's event stream until it ends; `onChange` runs on each event. */
export function useExecutionEvents(apiPath: string, enabled: boolean, onChange: () => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    if (!enabled) {
      setState('ended');
      return;
    }
    setState('connecting');
    return openStream(`${apiPath}/events`, {
      on: {
        execution: () => latest.current(),
        action_execution: () => latest.current(),
      },
      onEnd: () => latest.current(),
      onState: setState,
    });
  }, [apiPath, enabled]);
  return state;
}

export function liveText(state: LiveState): string {
  return state === 'live' ? 'live' : state === 'reconnecting' ? 'reconnecting…' : '';
}
