/**
 * An execution: status (live), what it ran, its actions with their logs, and the operations the
 * API offers in its state: cancel, retry, run now (delayed), approve (waiting at a gate), run again.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import { Announce, Badge, ErrorBox, Page, Pending, When, useData, useDebounced } from '../components.tsx';
import { durationOf, fmtDate, shortSha } from '../format.ts';
import { liveText, useExecutionEvents } from '../live.ts';
import { LogViewer } from '../log-viewer.tsx';
import { href, navigate } from '../router.ts';
import { isActive, statusInfo } from '../status.ts';
import type { ActionExecution, Execution } from '../types.ts';

export function ExecutionView(props: {
  ws: string;
  project: string;
  pid: string;
  eid: string;
  focusAe: string | null;
  line: number | null;
}): JSX.Element {
  const plSegs = ['workspaces', props.ws, 'projects', props.project, 'pipelines', props.pid];
  const ePath = path(...plSegs, 'executions', props.eid);
  const { data: exec, error, reload } = useData(() => get<Execution>(ePath), [ePath]);
  const refresh = useDebounced(reload, 150);
  const active = exec ? isActive(exec.status) : false;
  const live = useExecutionEvents(ePath, active, refresh);
  const [opError, setOpError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [, tick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [active]);

  const crumbs: [string, string?][] = [
    ['Workspaces', '#/'],
    [props.ws, href(['workspaces', props.ws])],
    [props.project, href(['workspaces', props.ws, 'projects', props.project])],
    [`Pipeline ${props.pid}`, href(plSegs)],
    [`Execution #${props.eid}`],
  ];
  const title = `Execution #${props.eid}`;
  if (!exec) return <Pending crumbs={crumbs} title={title} error={error} loaded={false} />;

  const operate = (body: Record<string, unknown>): void => {
    setBusy(true);
    setOpError(null);
    api<Execution>('PATCH', ePath, body).then(
      () => {
        setBusy(false);
        reload();
      },
      (e: unknown) => {
        setBusy(false);
        setOpError(e);
      },
    );
  };
  const runAgain = (): void => {
    setBusy(true);
    const body: Record<string, unknown> = { comment: exec.comment ?? undefined, priority: exec.priority };
    if (exec.branch?.name) body.branch = { name: exec.branch.name };
    if (exec.to_revision?.revision) body.to_revision = { revision: exec.to_revision.revision };
    api<Execution>('POST', `${path(...plSegs)}/executions`, body).then(
      (e) => {
        setBusy(false);
        navigate(href([...plSegs, 'executions', e.id]));
      },
      (e: unknown) => {
        setBusy(false);
        setOpError(e);
      },
    );
  };
  /** (Called, not rendered as a component, so that it keeps focus across renders.) A button for one of the execution's operations (PATCH {operation}); Cancel by default. */
  const op = (o: { label: string; operation?: string; primary?: boolean; danger?: boolean }): JSX.Element => (
    <button
      type="button"
      class={o.primary ? 'primary' : o.danger ? 'danger' : undefined}
      disabled={busy}
      onClick={() => operate({ operation: o.operation ?? 'CANCEL' })}
    >
      {o.label}
    </button>
  );
  const delayed = exec.status === 'ENQUEUED' && !!exec.delay_until;
  const canRetry = exec.status === 'FAILED' || exec.status === 'TERMINATED';
  const waiting = exec.status === 'WAITING_FOR_APPLY';
  const aes = exec.action_executions ?? [];
  const focus =
    props.focusAe ??
    // A waiting gate's log holds its question: open it first.
    aes.find((a) => a.status === 'WAITING_FOR_APPLY')?.action_execution_id ??
    aes.find((a) => a.status === 'INPROGRESS' || a.status === 'FAILED')?.action_execution_id ??
    null;
  return (
    <Page
      crumbs={crumbs}
      title={title}
      badge={
        <>
          <Badge status={exec.status} large />
          {active && <span class="muted small">{liveText(live)}</span>}
        </>
      }
      actions={
        <>
          {waiting && op({ label: 'Approve', operation: 'APPLY', primary: true })}
          {active && !delayed && op({ label: 'Cancel', danger: true })}
          {delayed && op({ label: 'Run now', operation: 'RUN_DELAYED', primary: true })}
          {delayed && op({ label: 'Cancel', danger: true })}
          {canRetry && op({ label: 'Retry', operation: 'RETRY', primary: true })}
          {!active && (
            <button type="button" disabled={busy} onClick={runAgain}>
              Run again
            </button>
          )}
        </>
      }
    >
      <Announce text={`Execution ${exec.id} is ${statusInfo(exec.status).label}`} />
      <ErrorBox error={opError} />
      <section class="panel" aria-label="Details">
        <dl class="meta">
          <dt>Revision</dt>
          <dd>
            <code>{shortSha(exec.to_revision?.revision) || '—'}</code>{' '}
            {exec.branch?.name && <>on {exec.branch.name}</>}
            {exec.to_revision?.message && <div class="muted">{exec.to_revision.message}</div>}
          </dd>
          {exec.comment && (
            <>
              <dt>Comment</dt>
              <dd>{exec.comment}</dd>
            </>
          )}
          <dt>Started</dt>
          <dd>
            {exec.start_date ? (
              <When iso={exec.start_date} />
            ) : delayed ? (
              `not before ${fmtDate(exec.delay_until)}`
            ) : (
              '—'
            )}
          </dd>
          <dt>Duration</dt>
          <dd>{durationOf(exec.start_date, exec.finish_date) || '—'}</dd>
          <dt>Triggered by</dt>
          <dd>{exec.creator?.name ?? '—'}</dd>
          <dt>Priority</dt>
          <dd>{exec.priority ?? 'NORMAL'}</dd>
          {exec.error_message && (
            <>
              <dt>Error</dt>
              <dd class="error-text">{exec.error_message}</dd>
            </>
          )}
        </dl>
      </section>
      <h2>Actions</h2>
      {aes.length === 0 && <p class="muted">No actions in this execution.</p>}
      {aes.map((ae) => (
        <ActionCard
          key={ae.action_execution_id}
          ae={ae}
          ePath={ePath}
          pageSegs={[...plSegs, 'executions', props.eid]}
          open={ae.action_execution_id === focus}
          line={ae.action_execution_id === props.focusAe ? props.line : null}
        />
      ))}
    </Page>
  );
}

function ActionCard(props: {
  ae: ActionExecution;
  ePath: string;
  pageSegs: string[];
  open: boolean;
  line: number | null;
}): JSX.Element {
  const { ae } = props;
  const [open, setOpen] = useState(props.open);
  useEffect(() => {
    if (props.open) setOpen(true);
  }, [props.open]);
  const aePath = `${props.ePath}/action_executions/${encodeURIComponent(ae.action_execution_id)}`;
  const running = ae.status === 'INPROGRESS';
  const logId = `log-${ae.action_execution_id}`;
  return (
    <section class="panel card" aria-label={`Action ${ae.action.name}`}>
      <div class="card-head">
        <button
          type="button"
          class="link grow"
          aria-expanded={open}
          aria-controls={logId}
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'} {ae.action.name}
        </button>
        <Badge status={ae.status} />
        <span class="muted small">{durationOf(ae.start_date, ae.finish_date)}</span>
      </div>
      {ae.error_message && <div class="error-text small">{ae.error_message}</div>}
      {open && (
        <div id={logId}>
          {ae.status === 'ENQUEUED' || ae.status === 'INITIAL' ? (
            <p class="muted">Not started yet.</p>
          ) : (
            <LogViewer
              // A new attempt (retry) is a new log: remount the viewer when the action starts again.
              key={`${ae.start_date ?? ''}-${running ? 'live' : 'done'}`}
              aePath={aePath}
              live={running}
              fileName={`execution-${props.pageSegs[7] ?? ''}-${ae.action.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`}
              focusLine={props.line}
              lineHref={(n) => href(props.pageSegs, { ae: ae.action_execution_id, line: String(n) })}
            />
          )}
        </div>
      )}
    </section>
  );
}
