/** Integrations (registry credentials) of a workspace: list, create, edit, delete; passwords never shown. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import {
  DeleteButton,
  Disclosure,
  ErrorBox,
  FormFooter,
  Loading,
  SelectField,
  TextField,
  useData,
  useForm,
} from '../components.tsx';
import type { Integration } from '../types.ts';

export function Integrations(props: { ws: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/integrations`;
  const { data, error, reload } = useData(() => get<{ integrations: Integration[] }>(base), [base]);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <section class="panel" aria-labelledby="int-title">
      <h2 id="int-title">Integrations</h2>
      <ErrorBox error={error} />
      {!data && !error && <Loading />}
      {data && data.integrations.length === 0 && <p class="muted">No integrations yet.</p>}
      <ul class="rows">
        {data?.integrations.map((i) =>
          editing === i.hash_id ? (
            <li key={i.hash_id}>
              <IntegrationForm
                ws={props.ws}
                integration={i}
                onDone={() => {
                  setEditing(null);
                  reload();
                }}
              />
            </li>
          ) : (
            <li key={i.hash_id} class="row">
              <span class="strong grow">{i.name}</span>
              <span class="tag">{i.type}</span>
              <button type="button" class="small" onClick={() => setEditing(i.hash_id)}>
                Edit <span class="visually-hidden">{i.name}</span>
              </button>
              <DeleteButton
                what={`integration ${i.name}`}
                onDelete={async () => {
                  await api('DELETE', `${base}/${i.hash_id}`);
                  reload();
                }}
              />
            </li>
          ),
        )}
      </ul>
      <Disclosure label="Add an integration">
        {(close) => (
          <IntegrationForm
            ws={props.ws}
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

function IntegrationForm(props: { ws: string; integration?: Integration; onDone: () => void }): JSX.Element {
  const i = props.integration;
  const form = useForm({
    name: i?.name ?? '',
    type: i?.type ?? 'DOCKER_HUB',
    username: '',
    password: '',
    host: '',
  });
  const base = `${path('workspaces', props.ws)}/integrations`;
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const body: Record<string, unknown> = { name: f.name, type: f.type };
        if (f.username) body.username = f.username;
        if (f.password) body.password = f.password;
        if (f.type === 'DOCKER_REGISTRY' && f.host) body.host = f.host;
        if (i) await api('PATCH', `${base}/${i.hash_id}`, body);
        else await api('POST', base, { ...body, scope: 'WORKSPACE' });
        props.onDone();
      })}
    >
      <TextField form={form} name="name" label="Name" required />
      <SelectField
        form={form}
        name="type"
        label="Type"
        options={[
          ['DOCKER_HUB', 'Docker Hub'],
          ['DOCKER_REGISTRY', 'Private Docker registry'],
        ]}
      />
      {form.values.type === 'DOCKER_REGISTRY' && <TextField form={form} name="host" label="Registry host" />}
      <TextField form={form} name="username" label="User name" />
      <TextField
        form={form}
        name="password"
        label={i ? 'New password (leave empty to keep it)' : 'Password or token'}
        type="password"
      />
      <FormFooter form={form} submit={i ? 'Save integration' : 'Add integration'}>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </FormFooter>
    </form>
  );
}
