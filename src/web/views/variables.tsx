/**
 * Variables and secrets of one scope (workspace, project, pipeline, action or environment). Encrypted
 * values are never shown: the API returns them sealed, and the form only ever sends a new value. An SSH
 * key shows its public half and fingerprint, which is what a user adds where the key must get in.
 */
import type { JSX } from 'preact';
import { api, get, path } from '../api.ts';
import {
  CheckField,
  CopyLine,
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
  environmentId?: string;
}

/**
 * The one object a variable hangs on: the narrowest named (an action's page also knows its pipeline
 * and project, but the API takes exactly one owner and refuses several).
 */
function owner(s: VariableScope): Omit<VariableScope, 'workspace'> {
  if (s.actionId) return { actionId: s.actionId };
  if (s.pipelineId) return { pipelineId: s.pipelineId };
  if (s.environmentId) return { environmentId: s.environmentId };
  if (s.project) return { project: s.project };
  return {};
}

function scopeQuery(s: VariableScope): string {
  const o = owner(s);
  const q = new URLSearchParams();
  if (o.project) q.set('project_name', o.project);
  if (o.pipelineId) q.set('pipeline_id', String(o.pipelineId));
  if (o.actionId) q.set('action_id', String(o.actionId));
  if (o.environmentId) q.set('environment_id', o.environmentId);
  const text = q.toString();
  return text ? `?${text}` : '';
}

function scopeBody(s: VariableScope): Record<string, unknown> {
  const o = owner(s);
  return {
    ...(o.project ? { project: { name: o.project } } : {}),
    ...(o.pipelineId ? { pipeline: { id: o.pipelineId } } : {}),
    ...(o.actionId ? { action: { id: o.actionId } } : {}),
    ...(o.environmentId ? { environment: { id: o.environmentId } } : {}),
  };
}

/** Whether a listed variable hangs on exactly this scope's owner (the API may list wider ones too). */
function atScope(v: Variable, s: VariableScope): boolean {
  const o = owner(s);
  return (
    (v.project?.name ?? undefined) === o.project &&
    (v.pipeline?.id ?? undefined) === o.pipelineId &&
    (v.action?.id ?? undefined) === o.actionId &&
    (v.environment?.id ?? undefined) === o.environmentId
  );
}

export function Variables(props: { scope: VariableScope; title: string; nested?: boolean }): JSX.Element {
  const base = `${path('workspaces', props.scope.workspace)}/variables`;
  const s = props.scope;
  return (
    <ResourceList<Variable>
      title={props.title}
      nested={props.nested}
      load={async () =>
        (await get<{ variables: Variable[] }>(base + scopeQuery(s))).variables.filter((v) => atScope(v, s))
      }
      deps={[base, s.project, s.pipelineId, s.actionId, s.environmentId]}
      keyOf={(v) => v.id}
      empty="No variables here yet."
      addLabel="Add a variable"
      form={(v, done) => <VariableForm scope={s} variable={v} onDone={done} />}
      row={(v, { edit, reload }) => (
        <>
          <div class="grow">
            <code class="strong">{v.key}</code>{' '}
            {v.type !== 'VAR' && <span class="tag">{v.type === 'FILE' ? 'file' : 'SSH key'}</span>}{' '}
            {v.encrypted ? <span class="tag">secret</span> : <code class="value">{v.value}</code>}
            {v.settable && <span class="tag">settable</span>}
            {v.file_place === 'CONTAINER' && v.file_path && (
              <div class="muted small">
                written to <code>{v.file_path}</code>
                {v.file_chmod ? ` (mode ${v.file_chmod})` : ''}
              </div>
            )}
            {v.description && <div class="muted small">{v.description}</div>}
            {v.type === 'SSH_KEY' && v.public_value && (
              <div class="ssh-key">
                <div class="muted small">
                  Public key
                  {v.key_fingerprint ? (
                    <>
                      {' '}
                      · fingerprint <code>{v.key_fingerprint}</code>
                    </>
                  ) : (
                    ''
                  )}
                </div>
                <CopyLine text={v.public_value} label={`Copy the public key of ${v.key}`} />
              </div>
            )}
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

const TYPES: [string, string][] = [
  ['VAR', 'Text (an environment variable)'],
  ['FILE', 'File'],
  ['SSH_KEY', 'SSH private key (always a secret)'],
];

function VariableForm(props: { scope: VariableScope; variable?: Variable; onDone: () => void }): JSX.Element {
  const v = props.variable;
  const form = useForm({
    key: v?.key ?? '',
    value: v && !v.encrypted ? (v.value ?? '') : '',
    type: v?.type ?? 'VAR',
    encrypted: v?.encrypted ?? false,
    settable: v?.settable ?? false,
    description: v?.description ?? '',
    in_container: v ? v.file_place === 'CONTAINER' : true,
    file_path: v?.file_path ?? '',
    file_chmod: v?.file_chmod ?? '600',
  });
  const base = `${path('workspaces', props.scope.workspace)}/variables`;
  const f = form.values;
  const isFile = f.type !== 'VAR';
  const secret = f.type === 'SSH_KEY' || f.encrypted;
  // A stored secret's value is never sent to the page: editing one means typing a new value or none.
  const keepsSecret = !!v?.encrypted;
  return (
    <form
      class="form"
      aria-label={v ? `Edit variable ${v.key}` : 'New variable'}
      onSubmit={form.submit(async (f) => {
        const body: Record<string, unknown> = {
          key: f.key,
          type: f.type,
          settable: f.settable,
          description: f.description || null,
        };
        // An SSH key is always encrypted: the API says so, and the box is not shown for it.
        if (f.type !== 'SSH_KEY') body.encrypted = f.encrypted;
        if (f.type === 'VAR') body.file_place = 'NONE';
        else {
          body.file_place = f.in_container ? 'CONTAINER' : 'NONE';
          body.file_path = f.file_path || null;
          body.file_chmod = f.file_chmod || null;
        }
        // A secret's value is only sent when a new one was typed; leaving it empty keeps the old one.
        if (!(keepsSecret && f.value === '')) body.value = f.value;
        if (v) await api('PATCH', `${base}/${v.id}`, body);
        else await api('POST', base, { ...body, ...scopeBody(props.scope) });
        props.onDone();
      })}
    >
      <div class="grid2">
        <TextField form={form} name="key" label="Key" required placeholder="MY_VARIABLE" />
        <SelectField form={form} name="type" label="Type" options={TYPES} />
      </div>
      {f.type !== 'SSH_KEY' && (
        <CheckField form={form} name="encrypted" label="Secret (encrypted, never shown again)" />
      )}
      <TextField
        form={form}
        name="value"
        label={
          keepsSecret
            ? 'New value (leave empty to keep the secret)'
            : f.type === 'SSH_KEY'
              ? 'Private key'
              : 'Value'
        }
        hint={f.type === 'SSH_KEY' ? 'An unencrypted private key, OpenSSH or PEM format.' : undefined}
        // Multi-line values (files, keys) need a text area; a one-line secret is typed unseen.
        multiline={isFile}
        rows={isFile ? 5 : undefined}
        type={secret && !isFile ? 'password' : 'text'}
      />
      {isFile && (
        <>
          <CheckField form={form} name="in_container" label="Write it as a file in the action's container" />
          {f.in_container && (
            <div class="grid2">
              <TextField form={form} name="file_path" label="File path" placeholder="~/.ssh/id_deploy" />
              <TextField form={form} name="file_chmod" label="File mode" placeholder="600" />
            </div>
          )}
        </>
      )}
      <TextField form={form} name="description" label="Description" />
      <CheckField form={form} name="settable" label="Settable when running" />
      <FormFooter form={form} submit={v ? 'Save variable' : 'Add variable'} onCancel={props.onDone} />
    </form>
  );
}
