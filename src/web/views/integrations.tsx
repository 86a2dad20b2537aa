/** Integrations (registry credentials) of a workspace: list, create, edit, delete, permissions; passwords never shown. */
import type { JSX } from 'preact';
import { api, get, path } from '../api.ts';
import { EditDelete, FormFooter, ResourceList, SelectField, TextField, useForm } from '../components.tsx';
import type { Integration } from '../types.ts';
import { PermissionsEditor, type ObjectPermissions } from './object-permissions.tsx';

const LEVELS = ['USE_ONLY', 'MANAGE', 'DENIED'] as const;

export function Integrations(props: { ws: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/integrations`;
  return (
    <ResourceList<Integration>
      title="Integrations"
      load={async () => (await get<{ integrations: Integration[] }>(base)).integrations}
      deps={[base]}
      keyOf={(i) => i.hash_id}
      empty="No integrations yet."
      addLabel="Add an integration"
      form={(i, done) => <IntegrationForm ws={props.ws} integration={i} onDone={done} />}
      row={(i, { edit, reload }) => (
        <>
          <span class="strong grow">{i.name}</span>
          <span class="tag">{i.type}</span>
          <EditDelete
            name={i.name}
            what={`integration ${i.name}`}
            onEdit={edit}
            onDelete={async () => {
              await api('DELETE', `${base}/${i.hash_id}`);
              reload();
            }}
          />
        </>
      )}
    />
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
    <>
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
        {form.values.type === 'DOCKER_REGISTRY' && (
          <TextField form={form} name="host" label="Registry host" />
        )}
        <TextField form={form} name="username" label="User name" />
        <TextField
          form={form}
          name="password"
          label={i ? 'New password (leave empty to keep it)' : 'Password or token'}
          type="password"
        />
        <FormFooter form={form} submit={i ? 'Save integration' : 'Add integration'} onCancel={props.onDone} />
      </form>
      {i && (
        <PermissionsEditor
          ws={props.ws}
          what="integration"
          levels={LEVELS}
          adminLevels={LEVELS}
          value={(i as { permissions?: ObjectPermissions | null }).permissions}
          onSave={async (permissions) => {
            await api('PATCH', `${base}/${i.hash_id}`, { permissions });
          }}
        />
      )}
    </>
  );
}
