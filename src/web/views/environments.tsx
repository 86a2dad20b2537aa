/** Environments of a workspace or project: list, create, edit, delete, permissions. */
import type { JSX } from 'preact';
import { api, get, path } from '../api.ts';
import { EditDelete, FormFooter, ResourceList, TextField, useForm } from '../components.tsx';
import type { Environment } from '../types.ts';
import { PermissionsEditor, type ObjectPermissions } from './object-permissions.tsx';

const LEVELS = ['DEFAULT', 'USE_ONLY', 'MANAGE', 'DENIED'] as const;

export function Environments(props: { ws: string; project?: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/environments`;
  const query = props.project ? `?project_name=${encodeURIComponent(props.project)}` : '';
  return (
    <ResourceList<Environment>
      title={props.project ? 'Project environments' : 'Workspace environments'}
      load={async () =>
        (await get<{ environments: Environment[] }>(base + query)).environments.filter(
          (e) => (e.project?.name ?? undefined) === props.project,
        )
      }
      deps={[base, query]}
      keyOf={(e) => e.id}
      empty="No environments yet."
      addLabel="Add an environment"
      form={(e, done) => <EnvironmentForm {...props} environment={e} onDone={done} />}
      row={(e, { edit, reload }) => (
        <>
          <span class="strong grow">{e.name}</span>
          <code class="muted">{e.identifier}</code>
          <EditDelete
            name={e.name}
            what={`environment ${e.name}`}
            onEdit={edit}
            onDelete={async () => {
              await api('DELETE', `${base}/${e.id}`);
              reload();
            }}
          />
        </>
      )}
    />
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
    <>
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
        <FormFooter form={form} submit={e ? 'Save environment' : 'Add environment'} onCancel={props.onDone} />
      </form>
      {e && (
        <PermissionsEditor
          ws={props.ws}
          what="environment"
          levels={LEVELS}
          value={(e as { permissions?: ObjectPermissions | null }).permissions}
          onSave={async (permissions) => {
            await api('PATCH', `${base}/${e.id}`, { permissions });
          }}
        />
      )}
    </>
  );
}
