/** A pipeline: its actions (reorder, add, edit), the Run form, its executions (live), variables, settings. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import {
  Announce,
  Badge,
  CheckField,
  CopyLine,
  DeleteButton,
  Disclosure,
  ErrorBox,
  FormFooter,
  Page,
  RowButton,
  SelectField,
  Tabs,
  TextField,
  When,
  useData,
  useDebounced,
  useForm,
  Pending,
} from '../components.tsx';
import { durationOf, firstLine, num, shortSha } from '../format.ts';
import { useWorkspaceEvents } from '../live.ts';
import { href, navigate } from '../router.ts';
import { pipelineStatus, statusInfo } from '../status.ts';
import type { Action, Execution, Paged, Pipeline } from '../types.ts';
import { PermissionsEditor, type ObjectPermissions } from './object-permissions.tsx';
import { TriggerConditions, type TriggerCondition } from './trigger-conditions.tsx';
import { Variables } from './variables.tsx';

const PIPELINE_LEVELS = ['DEFAULT', 'DENIED', 'READ_ONLY', 'RUN_ONLY', 'READ_WRITE'] as const;

const PER_PAGE = 20;

export function PipelineView(props: {
  ws: string;
  project: string;
  pid: string;
  tab: string;
  page: number;
}): JSX.Element {
  const plPath = path('workspaces', props.ws, 'projects', props.project, 'pipelines', props.pid);
  const { data, error, reload } = useData(
    () =>
      Promise.all([
        get<Pipeline>(plPath),
        get<{ actions: Action[] }>(`${plPath}/actions`),
        get<Paged & { executions: Execution[] }>(
          `${plPath}/executions?page=${props.page}&per_page=${PER_PAGE}`,
        ),
      ]),
    [plPath, props.page],
  );
  const [announce, setAnnounce] = useState('');
  const refresh = useDebounced(reload);
  useWorkspaceEvents(props.ws, (e) => {
    if (String(e.pipeline_id) !== props.pid) return;
    if (e.status) setAnnounce(`Execution ${e.execution_id}: ${statusInfo(e.status).label}`);
    refresh();
  });
  const segs = ['workspaces', props.ws, 'projects', props.project, 'pipelines', props.pid];
  const base = href(segs);
  const crumbs: [string, string?][] = [
    ['Workspaces', '#/'],
    [props.ws, href(['workspaces', props.ws])],
    [props.project, href(['workspaces', props.ws, 'projects', props.project])],
    [data?.[0].name ?? `Pipeline ${props.pid}`],
  ];
  if (error || !data)
    return <Pending crumbs={crumbs} title={`Pipeline ${props.pid}`} error={error} loaded={!!data} />;
  const [pl, { actions }, execs] = data;
  return (
    <Page crumbs={crumbs} title={pl.name} badge={<Badge status={pipelineStatus(pl)} large />}>
      <Announce text={announce} />
      <Tabs
        base={base}
        current={props.tab}
        tabs={[
          ['runs', 'Actions and runs'],
          ['variables', 'Variables'],
          ['settings', 'Settings'],
        ]}
      />
      {props.tab === 'runs' && (
        <>
          <section class="panel" aria-labelledby="actions-title">
            <h2 id="actions-title">Actions</h2>
            {actions.length === 0 && <p class="muted">No actions yet: add the first one.</p>}
            <ol class="rows actions">
              {actions.map((a, i) => (
                <li key={a.id} class="row">
                  <span class="muted">{i + 1}.</span>
                  <a class="strong grow" href={href([...segs, 'actions', a.id])}>
                    {a.name}
                  </a>
                  <span class="tag">{a.type}</span>
                  <span class="actions-row">
                    <RowButton
                      label="↑"
                      ariaLabel={`Move ${a.name} up`}
                      disabled={i === 0}
                      onClick={() =>
                        api('PATCH', `${plPath}/actions/${a.id}`, {
                          after_action_id: i >= 2 ? actions[i - 2]!.id : 0,
                        }).then(reload)
                      }
                    />
                    <RowButton
                      label="↓"
                      ariaLabel={`Move ${a.name} down`}
                      disabled={i === actions.length - 1}
                      onClick={() =>
                        api('PATCH', `${plPath}/actions/${a.id}`, {
                          after_action_id: actions[i + 1]!.id,
                        }).then(reload)
                      }
                    />
                  </span>
                </li>
              ))}
            </ol>
            <div class="actions-row">
              <a class="btn" href={href([...segs, 'actions', 'new'], { type: 'RUN_DOCKER_CONTAINER' })}>
                Add action: run commands
              </a>
              <a class="btn" href={href([...segs, 'actions', 'new'], { type: 'DOCKERFILE' })}>
                Build a Docker image
              </a>
              <a class="btn" href={href([...segs, 'actions', 'new'], { type: 'DOCKER_PUSH' })}>
                Push a Docker image
              </a>
              <a class="btn" href={href([...segs, 'actions', 'new'], { type: 'WAIT_FOR_APPLY' })}>
                Wait for approval
              </a>
            </div>
          </section>
          <Disclosure label="Run…">
            {(close) => <RunForm plPath={plPath} segs={segs} pipeline={pl} onCancel={close} />}
          </Disclosure>
          <section class="panel flush" aria-labelledby="runs-title">
            <h2 id="runs-title">Executions</h2>
            {execs.executions.length === 0 ? (
              <p class="empty">Not run yet.</p>
            ) : (
              <ul class="rows">
                {execs.executions.map((e) => (
                  <li key={e.id} class="row exec">
                    <Badge status={e.status} />
                    <a class="strong" href={href([...segs, 'executions', e.id])}>
                      #{e.id}
                    </a>
                    <span class="grow ellipsis">
                      {firstLine(e.comment) ||
                        firstLine(e.to_revision?.message) ||
                        shortSha(e.to_revision?.revision)}
                    </span>
                    <span class="muted small">
                      {e.branch?.name} {shortSha(e.to_revision?.revision)} ·{' '}
                      <When iso={e.start_date ?? null} /> {durationOf(e.start_date, e.finish_date)}
                    </span>
                    {e.status === 'WAITING_FOR_APPLY' && (
                      <RowButton
                        label="Approve"
                        hidden={`#${e.id}`}
                        onClick={async () => {
                          await api('PATCH', `${plPath}/executions/${e.id}`, { operation: 'APPLY' });
                          reload();
                        }}
                      />
                    )}
                  </li>
                ))}
              </ul>
            )}
            {(execs.total_page_count ?? 1) > 1 && (
              <div class="pager">
                <span>
                  Page {props.page} of {execs.total_page_count} · {num(execs.total_element_count)} executions
                </span>
                <a
                  class="btn"
                  aria-disabled={props.page <= 1}
                  href={href(segs, { page: String(Math.max(1, props.page - 1)) })}
                >
                  Newer
                </a>
                <a class="btn" href={href(segs, { page: String(props.page + 1) })}>
                  Older
                </a>
              </div>
            )}
          </section>
        </>
      )}
      {props.tab === 'variables' && (
        <Variables
          scope={{ workspace: props.ws, project: props.project, pipelineId: pl.id }}
          title="Pipeline variables"
        />
      )}
      {props.tab === 'settings' && (
        <>
          <section class="panel">
            <PipelineForm ws={props.ws} project={props.project} pipeline={pl} onSaved={reload} />
          </section>
          <TriggerWebhook plPath={plPath} pipeline={pl} />
          <section class="panel">
            <PermissionsEditor
              ws={props.ws}
              what="pipeline"
              levels={PIPELINE_LEVELS}
              value={(pl as { permissions?: ObjectPermissions | null }).permissions}
              onSave={async (permissions) => {
                await api('PATCH', plPath, { permissions });
              }}
            />
          </section>
          <section class="panel">
            <h2>Danger zone</h2>
            <DeleteButton
              what="this pipeline"
              onDelete={async () => {
                await api('DELETE', plPath);
                navigate(href(['workspaces', props.ws, 'projects', props.project]));
              }}
            />
          </section>
        </>
      )}
    </Page>
  );
}

/** Parses "KEY=value" lines into inline variables. */
export function parseVariables(text: string): { key: string; value: string }[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf('=');
      return i < 0 ? { key: l, value: '' } : { key: l.slice(0, i).trim(), value: l.slice(i + 1) };
    });
}

function RunForm(props: {
  plPath: string;
  segs: string[];
  pipeline: Pipeline;
  onCancel: () => void;
}): JSX.Element {
  const form = useForm({
    branch: props.pipeline.refs?.[0]?.replace(/^refs\/heads\//, '') ?? '',
    revision: '',
    comment: '',
    priority: props.pipeline.priority ?? 'NORMAL',
    refresh: false,
    clear_cache: false,
    delay_until: '',
    variables: '',
  });
  return (
    <form
      class="form"
      aria-label="Run the pipeline"
      onSubmit={form.submit(async (f) => {
        const body: Record<string, unknown> = {
          comment: f.comment || undefined,
          priority: f.priority,
          refresh: f.refresh,
          clear_cache: f.clear_cache,
        };
        if (f.branch) body.branch = { name: f.branch };
        if (f.revision) body.to_revision = { revision: f.revision };
        if (f.delay_until) body.delay_until = new Date(f.delay_until).toISOString();
        const vars = parseVariables(f.variables);
        if (vars.length) body.variables = vars;
        const e = await api<Execution>('POST', `${props.plPath}/executions`, body);
        navigate(href([...props.segs, 'executions', e.id]));
      })}
    >
      <h2>Run {props.pipeline.name}</h2>
      <div class="grid2">
        <TextField form={form} name="branch" label="Branch" />
        <TextField
          form={form}
          name="revision"
          label="Revision (commit)"
          hint="Empty: the branch's newest commit."
        />
      </div>
      <TextField form={form} name="comment" label="Comment" />
      <div class="grid2">
        <SelectField form={form} name="priority" label="Priority" options={['LOW', 'NORMAL', 'HIGH']} />
        <TextField
          form={form}
          name="delay_until"
          label="Start no earlier than (optional)"
          type="datetime-local"
        />
      </div>
      <TextField
        form={form}
        name="variables"
        label="Variables"
        multiline
        rows={3}
        hint="One KEY=value per line; they override the pipeline's variables for this run."
      />
      <CheckField form={form} name="refresh" label="Deploy from scratch (refresh)" />
      <CheckField form={form} name="clear_cache" label="Clear the cache first" />
      <FormFooter form={form} submit="Run" onCancel={props.onCancel} />
    </form>
  );
}

interface PipelineEvent {
  type: string;
  refs?: string[] | null;
  cron?: string | null;
  delay?: number | null;
  start_date?: string | null;
  timezone?: string | null;
  totp?: boolean | null;
  [field: string]: unknown;
}

/** The trigger webhook's secrets, in the one answer that shows them. */
interface ShownWebhook {
  url: string;
  secret?: string;
  totp_secret?: string;
  totp_uri?: string;
}

/** "2026-01-01T10:00" for an <input type="datetime-local"> from an ISO date (local time). */
function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const OWN_EVENTS = new Set(['PUSH', 'SCHEDULE', 'WEBHOOK']);

/** Whether the form offers trigger conditions (the API acts on them: every run checks them first). */
const TRIGGER_CONDITIONS = true;

/** Create or edit a pipeline: name, branches, triggers (push, schedule, webhook), queue and run options. */
export function PipelineForm(props: {
  ws: string;
  project: string;
  pipeline?: Pipeline;
  onCancel?: () => void;
  /** Editing: called after a save instead of leaving the page (the settings tab reloads). */
  onSaved?: () => void;
}): JSX.Element {
  const p = props.pipeline;
  const events = (p?.events ?? []) as PipelineEvent[];
  const push = events.find((e) => e.type === 'PUSH');
  const schedule = events.find((e) => e.type === 'SCHEDULE');
  const webhook = events.find((e) => e.type === 'WEBHOOK');
  const [shown, setShown] = useState<{ webhook: ShownWebhook; to: string } | null>(null);
  const [note, setNote] = useState('');
  const [conditions, setConditions] = useState<TriggerCondition[]>(
    ((p as { trigger_conditions?: TriggerCondition[] } | undefined)?.trigger_conditions ?? []).map((c) => ({
      ...c,
    })),
  );
  const form = useForm({
    name: p?.name ?? '',
    // Not an input: lets an API error about the conditions land beside them.
    trigger_conditions: '',
    refs: (p?.refs ?? ['refs/heads/master']).join(', '),
    priority: p?.priority ?? 'NORMAL',
    on_push: !!push,
    on_schedule: !!schedule,
    schedule_mode: schedule?.cron ? 'cron' : 'interval',
    cron: schedule?.cron ?? '',
    delay: schedule?.delay ? String(schedule.delay) : '60',
    start_date: toLocalInput(schedule?.start_date),
    timezone: schedule?.timezone ?? '',
    on_webhook: !!webhook,
    totp: webhook?.totp === true,
    concurrent_pipeline_runs: p?.concurrent_pipeline_runs ?? false,
    terminate_stale_runs: p?.terminate_stale_runs ?? false,
    no_skip_to_most_recent: p?.no_skip_to_most_recent ?? false,
    always_from_scratch: p?.always_from_scratch ?? false,
    auto_clear_cache: p?.auto_clear_cache ?? false,
    paused: p?.paused ?? false,
    disabled: p?.disabled ?? false,
  });
  const base = `${path('workspaces', props.ws, 'projects', props.project)}/pipelines`;
  const leave = (to: string): void => {
    setShown(null);
    if (props.onSaved) {
      setNote('Pipeline saved.');
      props.onSaved();
    } else navigate(to);
  };
  if (shown)
    return (
      <div class="notice-inline" role="status">
        <h2>Trigger webhook</h2>
        <WebhookSecrets webhook={shown.webhook} />
        <div class="actions-row">
          <button type="button" class="primary" onClick={() => leave(shown.to)}>
            Done
          </button>
        </div>
      </div>
    );
  const v = form.values;
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const refs = f.refs
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean);
        // Events the form does not edit (CREATE_REF, DELETE_REF, ...) are kept as they are.
        const next: PipelineEvent[] = events.filter((e) => !OWN_EVENTS.has(e.type));
        if (f.on_push) next.push({ type: 'PUSH', refs });
        if (f.on_schedule)
          next.push(
            f.schedule_mode === 'cron'
              ? { type: 'SCHEDULE', cron: f.cron.trim(), timezone: f.timezone.trim() || null }
              : {
                  type: 'SCHEDULE',
                  delay: Number(f.delay),
                  start_date: f.start_date ? new Date(f.start_date).toISOString() : null,
                  timezone: f.timezone.trim() || null,
                },
          );
        if (f.on_webhook) next.push({ type: 'WEBHOOK', totp: f.totp });
        const body = {
          name: f.name,
          refs,
          priority: f.priority,
          on: next.length > 0 ? 'EVENT' : 'CLICK',
          events: next,
          ...(TRIGGER_CONDITIONS ? { trigger_conditions: conditions } : {}),
          concurrent_pipeline_runs: f.concurrent_pipeline_runs,
          terminate_stale_runs: f.terminate_stale_runs,
          no_skip_to_most_recent: f.no_skip_to_most_recent,
          always_from_scratch: f.always_from_scratch,
          auto_clear_cache: f.auto_clear_cache,
          paused: f.paused,
          disabled: f.disabled,
        };
        const saved = p
          ? await api<Pipeline & { trigger_webhook?: ShownWebhook | null }>('PATCH', `${base}/${p.id}`, body)
          : await api<Pipeline & { trigger_webhook?: ShownWebhook | null }>('POST', base, body);
        const to = href(['workspaces', props.ws, 'projects', props.project, 'pipelines', saved.id]);
        // A new webhook secret is in this answer only: show it before leaving the form.
        if (saved.trigger_webhook?.secret || saved.trigger_webhook?.totp_secret)
          setShown({ webhook: saved.trigger_webhook, to });
        else leave(to);
      })}
    >
      <h2>{p ? 'Pipeline settings' : 'New pipeline'}</h2>
      <TextField form={form} name="name" label="Name" required />
      <div class="grid2">
        <TextField
          form={form}
          name="refs"
          label="Branches (refs)"
          hint="Comma-separated, e.g. refs/heads/master. Runs and pushes use these."
        />
        <SelectField form={form} name="priority" label="Priority" options={['LOW', 'NORMAL', 'HIGH']} />
      </div>
      <fieldset>
        <legend>Triggers</legend>
        <p class="muted small">With none, the pipeline runs only when someone runs it.</p>
        <CheckField form={form} name="on_push" label="On every push to these branches" />
        <CheckField form={form} name="on_schedule" label="On a schedule" />
        {v.on_schedule && (
          <div class="nested">
            <SelectField
              form={form}
              name="schedule_mode"
              label="Schedule"
              options={[
                ['interval', 'Every few minutes, from a start date'],
                ['cron', 'Cron expression'],
              ]}
            />
            {v.schedule_mode === 'cron' ? (
              <TextField
                form={form}
                name="cron"
                label="Cron expression"
                required
                placeholder="0 3 * * 1-5"
                hint="Five fields: minute hour day month weekday."
              />
            ) : (
              <div class="grid2">
                <TextField form={form} name="delay" label="Minutes between runs" type="number" required />
                <TextField form={form} name="start_date" label="First run at" type="datetime-local" />
              </div>
            )}
            <TextField
              form={form}
              name="timezone"
              label="Time zone"
              placeholder="Europe/Warsaw"
              hint="IANA name; empty means UTC."
            />
          </div>
        )}
        <CheckField form={form} name="on_webhook" label="By a trigger webhook (a secret URL)" />
        {v.on_webhook && (
          <div class="nested">
            <CheckField form={form} name="totp" label="Also require a one-time code (TOTP)" />
          </div>
        )}
      </fieldset>
      {TRIGGER_CONDITIONS && (
        <fieldset>
          <legend>Conditions</legend>
          <p class="muted small">A run starts only when all of these hold (manual runs too).</p>
          <TriggerConditions value={conditions} onChange={setConditions} />
          {form.error?.field === 'trigger_conditions' && (
            <div class="field-error" role="alert">
              {form.error.message}
            </div>
          )}
        </fieldset>
      )}
      <fieldset>
        <legend>Queue</legend>
        <CheckField form={form} name="concurrent_pipeline_runs" label="Allow concurrent runs" />
        <CheckField
          form={form}
          name="no_skip_to_most_recent"
          label="Run every waiting run (do not skip to the most recent)"
        />
        <CheckField
          form={form}
          name="terminate_stale_runs"
          label="A new run of a branch stops older runs of that branch"
        />
      </fieldset>
      <fieldset>
        <legend>Runs</legend>
        <CheckField form={form} name="always_from_scratch" label="Always deploy from scratch" />
        <CheckField form={form} name="auto_clear_cache" label="Clear the cache before each run" />
        <CheckField form={form} name="paused" label="Paused (the schedule starts no runs)" />
        <CheckField form={form} name="disabled" label="Disabled" />
      </fieldset>
      <FormFooter form={form} submit={p ? 'Save pipeline' : 'Create pipeline'} onCancel={props.onCancel}>
        <span role="status" class="muted small">
          {form.busy ? '' : note}
        </span>
      </FormFooter>
    </form>
  );
}

/** The webhook's URL and the secrets an answer showed (once), with copy buttons and a curl line. */
function WebhookSecrets(props: { webhook: ShownWebhook }): JSX.Element {
  const w = props.webhook;
  return (
    <>
      <p>Copy the secret now: Gantry keeps only its hash and never shows it again.</p>
      <CopyLine text={w.url} label="Copy the trigger URL" />
      {w.secret && (
        <>
          <h3>Secret</h3>
          <CopyLine text={w.secret} label="Copy the trigger secret" />
          <CopyLine text={`curl -X POST '${w.url}?token=${w.secret}'`} label="Copy the curl command" />
        </>
      )}
      {w.totp_secret && (
        <>
          <h3>TOTP key</h3>
          <CopyLine text={w.totp_secret} label="Copy the TOTP key" />
        </>
      )}
    </>
  );
}

/** The settings tab's trigger webhook panel: the URL, and a new secret on demand (shown once). */
function TriggerWebhook(props: { plPath: string; pipeline: Pipeline }): JSX.Element | null {
  const w = (props.pipeline as { trigger_webhook?: { url: string; totp?: boolean } | null }).trigger_webhook;
  const [shown, setShown] = useState<ShownWebhook | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (!w) return null;
  return (
    <section class="panel" aria-labelledby="webhook-title">
      <h2 id="webhook-title">Trigger webhook</h2>
      {shown ? (
        <WebhookSecrets webhook={shown} />
      ) : (
        <>
          <p class="muted small">
            POST or GET this URL with <code>?token=</code> and the secret to run the pipeline
            {w.totp ? ', plus a current TOTP code in ?totp=' : ''}.
          </p>
          <CopyLine text={w.url} label="Copy the trigger URL" />
        </>
      )}
      <ErrorBox error={error} />
      <div class="actions-row">
        <button
          type="button"
          onClick={() =>
            void api<{ trigger_webhook: ShownWebhook }>(
              'POST',
              `${props.plPath}/trigger-webhook/secrets`,
            ).then((r) => setShown(r.trigger_webhook), setError)
          }
        >
          New secret
        </button>
      </div>
    </section>
  );
}
