/** Environments of a workspace or project: list, create, edit, delete. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import {
  DeleteButton,
  Disclosure,
  ErrorBox,
  FormFooter,
  Loading,
  TextField,
  useData,
  useForm,
} from '../components.tsx';
import type { Environment } from '../types.ts';

export function Environments(props: { ws: string; project?: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/environments`;
  const query = props.project ? `?project_name=${encodeURIComponent(props.project)}` : '';
  const { data, error, reload } = useData(
    () => get<{ environments: Environment[] }>(base + query),
    [base, query],
  );
  const [editing, setEditing] = useState<string | null>(null);
  const list = data?.environments.filter((e) => (e.project?.name ?? undefined) === props.project) ?? [];
  return (
    <section class="panel" aria-labelledby="env-title">
      <h2 id="env-title">{props.project ? 'Project environments' : 'Workspace environments'}</h2>
      <ErrorBox error={error} />
      {!data && !error && <Loading />}
      {data && list.length === 0 && <p class="muted">No environments yet.</p>}
      <ul class="rows">
        {list.map((e) =>
          editing === e.id ? (
            <li key={e.id}>
              <EnvironmentForm
                {...props}
                environment={e}
                onDone={() => {
                  setEditing(null);
                  reload();
                }}
              />
            </li>
          ) : (
            <li key={e.id} class="row">
              <span class="strong grow">{e.name}</span>
              <code class="muted">{e.identifier}</code>
              <button type="button" class="small" onClick={() => setEditing(e.id)}>
                Edit <span class="visually-hidden">{e.name}</span>
              </button>
              <DeleteButton
                what={`environment ${e.name}`}
                onDelete={async () => {
                  await api('DELETE', `${base}/${e.id}`);
                  reload();
                }}
              />
            </li>
          ),
        )}
      </ul>
      <Disclosure label="Add an environment">
        {(close) => (
          <EnvironmentForm
            {...props}
            onDone={() => {
              close();
              reload();
            }}
          />
        )}
      </Disclosure>
    </section>
  );
}

function EnvironmentForm(props: {
  ws: string;
  project?: string;
  environment?: Environment;
  onDone: () => void;
}): JSX.Element {
  const e = props.environment;
  const form = useForm({
    name: e?.name ?? '',
    identifier: e?.identifier ?? '',
    public_url: e?.public_url ?? '',
  });
  const base = `${path('workspaces', props.ws)}/environments`;
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const body: Record<string, unknown> = { name: f.name, public_url: f.public_url || null };
        if (f.identifier) body.identifier = f.identifier;
        if (e) await api('PATCH', `${base}/${e.id}`, body);
        else
          await api('POST', base, {
            ...body,
            ...(props.project ? { project: { name: props.project } } : {}),
          });
        props.onDone();
      })}
    >
      <TextField form={form} name="name" label="Name" required />
      <TextField
        form={form}
        name="identifier"
        label="Identifier"
        hint="Leave empty to derive it from the name."
      />
      <TextField form={form} name="public_url" label="Public URL" type="url" />
      <FormFooter form={form} submit={e ? 'Save environment' : 'Add environment'}>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </FormFooter>
    </form>
  );
}
