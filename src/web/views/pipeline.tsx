/** A pipeline: its actions (reorder, add, edit), the Run form, its executions (live), variables, settings. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import {
  Announce,
  Badge,
  CheckField,
  DeleteButton,
  Disclosure,
  ErrorBox,
  FormFooter,
  Loading,
  Page,
  SelectField,
  Tabs,
  TextField,
  When,
  useData,
  useDebounced,
  useForm,
} from '../components.tsx';
import { durationOf, firstLine, num, shortSha } from '../format.ts';
import { useWorkspaceEvents } from '../live.ts';
import { href, navigate } from '../router.ts';
import { pipelineStatus, statusInfo } from '../status.ts';
import type { Action, Execution, Paged, Pipeline } from '../types.ts';
import { Variables } from './variables.tsx';

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
  if (error)
    return (
      <Page crumbs={crumbs} title={`Pipeline ${props.pid}`}>
        {<ErrorBox error={error} />}
      </Page>
    );
  if (!data)
    return (
      <Page crumbs={crumbs} title={`Pipeline ${props.pid}`}>
        {<Loading />}
      </Page>
    );
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
                    <button
                      type="button"
                      class="small"
                      disabled={i === 0}
                      aria-label={`Move ${a.name} up`}
                      onClick={() =>
                        void api('PATCH', `${plPath}/actions/${a.id}`, {
                          after_action_id: i >= 2 ? actions[i - 2]!.id : 0,
                        }).then(reload)
                      }
                    >
                      ↑
                    </button>
                    <button
                      type="button"
                      class="small"
                      disabled={i === actions.length - 1}
                      aria-label={`Move ${a.name} down`}
                      onClick={() =>
                        void api('PATCH', `${plPath}/actions/${a.id}`, {
                          after_action_id: actions[i + 1]!.id,
                        }).then(reload)
                      }
                    >
                      ↓
                    </button>
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
            <PipelineForm ws={props.ws} project={props.project} pipeline={pl} />
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
      <FormFooter form={form} submit="Run">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </FormFooter>
    </form>
  );
}

/** Create or edit a pipeline. */
export function PipelineForm(props: {
  ws: string;
  project: string;
  pipeline?: Pipeline;
  onCancel?: () => void;
}): JSX.Element {
  const p = props.pipeline;
  const form = useForm({
    name: p?.name ?? '',
    on: p?.on ?? 'CLICK',
    refs: (p?.refs ?? ['refs/heads/master']).join(', '),
    priority: p?.priority ?? 'NORMAL',
    always_from_scratch: p?.always_from_scratch ?? false,
    auto_clear_cache: p?.auto_clear_cache ?? false,
    concurrent_pipeline_runs: p?.concurrent_pipeline_runs ?? false,
    paused: p?.paused ?? false,
    disabled: p?.disabled ?? false,
  });
  const base = `${path('workspaces', props.ws, 'projects', props.project)}/pipelines`;
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const refs = f.refs
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean);
        // "On push" is Buddy's EVENT trigger with one PUSH event on the pipeline's branches.
        const body = { ...f, refs, events: f.on === 'EVENT' ? [{ type: 'PUSH', refs }] : [] };
        const saved = p
          ? await api<Pipeline>('PATCH', `${base}/${p.id}`, body)
          : await api<Pipeline>('POST', base, body);
        navigate(href(['workspaces', props.ws, 'projects', props.project, 'pipelines', saved.id]), !!p);
      })}
    >
      <h2>{p ? 'Pipeline settings' : 'New pipeline'}</h2>
      <TextField form={form} name="name" label="Name" required />
      <div class="grid2">
        <SelectField
          form={form}
          name="on"
          label="Trigger"
          options={[
            ['CLICK', 'Manually'],
            ['EVENT', 'On every push to these branches'],
          ]}
        />
        <SelectField form={form} name="priority" label="Priority" options={['LOW', 'NORMAL', 'HIGH']} />
      </div>
      <TextField
        form={form}
        name="refs"
        label="Branches (refs)"
        hint="Comma-separated, e.g. refs/heads/master."
      />
      <CheckField form={form} name="always_from_scratch" label="Always deploy from scratch" />
      <CheckField form={form} name="auto_clear_cache" label="Clear the cache before each run" />
      <CheckField form={form} name="concurrent_pipeline_runs" label="Allow concurrent runs" />
      <CheckField form={form} name="paused" label="Paused" />
      <CheckField form={form} name="disabled" label="Disabled" />
      <FormFooter form={form} submit={p ? 'Save pipeline' : 'Create pipeline'}>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </FormFooter>
    </form>
  );
}
