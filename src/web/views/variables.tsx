/**
 * Variables and secrets of one scope (workspace, project, pipeline or action). Encrypted values are
 * never shown: the API returns them sealed, and the form only ever sends a new value.
 */
import type { JSX } from 'preact';
import { api, get, path } from '../api.ts';
import {
  CheckField,
  EditDelete,
  FormFooter,
  ResourceList,
  SelectField,
  TextField,
  useForm,
} from '../components.tsx';
import type { Variable } from '../types.ts';

export interface VariableScope {
  workspace: string;
  project?: string;
  pipelineId?: number;
  actionId?: number;
}

function scopeQuery(s: VariableScope): string {
  const q = new URLSearchParams();
  if (s.project) q.set('project_name', s.project);
  if (s.pipelineId) q.set('pipeline_id', String(s.pipelineId));
  if (s.actionId) q.set('action_id', String(s.actionId));
  const text = q.toString();
  return text ? `?${text}` : '';
}

function scopeBody(s: VariableScope): Record<string, unknown> {
  return {
    ...(s.project ? { project: { name: s.project } } : {}),
    ...(s.pipelineId ? { pipeline: { id: s.pipelineId } } : {}),
    ...(s.actionId ? { action: { id: s.actionId } } : {}),
  };
}

/** Whether a listed variable is defined at exactly this scope (the API also lists wider ones). */
function atScope(v: Variable, s: VariableScope): boolean {
  return (
    (v.project?.name ?? undefined) === s.project &&
    (v.pipeline?.id ?? undefined) === s.pipelineId &&
    (v.action?.id ?? undefined) === s.actionId &&
    !v.environment
  );
}

export function Variables(props: { scope: VariableScope; title: string }): JSX.Element {
  const base = `${path('workspaces', props.scope.workspace)}/variables`;
  return (
    <ResourceList<Variable>
      title={props.title}
      load={async () =>
        (await get<{ variables: Variable[] }>(base + scopeQuery(props.scope))).variables.filter((v) =>
          atScope(v, props.scope),
        )
      }
      deps={[base, props.scope.project, props.scope.pipelineId, props.scope.actionId]}
      keyOf={(v) => v.id}
      empty="No variables here yet."
      addLabel="Add a variable"
      form={(v, done) => <VariableForm scope={props.scope} variable={v} onDone={done} />}
      row={(v, { edit, reload }) => (
        <>
          <div class="grow">
            <code class="strong">{v.key}</code>{' '}
            {v.encrypted ? <span class="tag">secret</span> : <code class="value">{v.value}</code>}
            {v.settable && <span class="tag">settable</span>}
            {v.description && <div class="muted small">{v.description}</div>}
          </div>
          <EditDelete
            name={v.key}
            what={`variable ${v.key}`}
            onEdit={edit}
            onDelete={async () => {
              await api('DELETE', `${base}/${v.id}`);
              reload();
            }}
          />
        </>
      )}
    />
  );
}

function VariableForm(props: { scope: VariableScope; variable?: Variable; onDone: () => void }): JSX.Element {
  const v = props.variable;
  const form = useForm({
    key: v?.key ?? '',
    value: v && !v.encrypted ? (v.value ?? '') : '',
    type: v?.type ?? 'VAR',
    encrypted: v?.encrypted ?? false,
    settable: v?.settable ?? false,
    description: v?.description ?? '',
  });
  const base = `${path('workspaces', props.scope.workspace)}/variables`;
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const body: Record<string, unknown> = {
          key: f.key,
          type: f.type,
          encrypted: f.encrypted,
          settable: f.settable,
          description: f.description || null,
        };
        // A secret's value is only sent when a new one was typed; leaving it empty keeps the old one.
        if (!(v?.encrypted && f.value === '')) body.value = f.value;
        if (v) await api('PATCH', `${base}/${v.id}`, body);
        else await api('POST', base, { ...body, ...scopeBody(props.scope) });
        props.onDone();
      })}
    >
      <div class="grid2">
        <TextField form={form} name="key" label="Key" required placeholder="MY_VARIABLE" />
        <SelectField form={form} name="type" label="Type" options={['VAR', 'FILE', 'SSH_KEY']} />
      </div>
      <TextField
        form={form}
        name="value"
        label={v?.encrypted ? 'New value (leave empty to keep the secret)' : 'Value'}
        type={form.values.encrypted ? 'password' : 'text'}
      />
      <TextField form={form} name="description" label="Description" />
      <CheckField form={form} name="encrypted" label="Secret (encrypted, never shown again)" />
      <CheckField form={form} name="settable" label="Settable when running" />
      <FormFooter form={form} submit={v ? 'Save variable' : 'Add variable'} onCancel={props.onDone} />
    </form>
  );
}
