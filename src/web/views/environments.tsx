/** Environments of a workspace or project: list, create, edit, delete, permissions, their variables. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import { EditDelete, FormFooter, ResourceList, TextField, useForm } from '../components.tsx';
import type { Environment } from '../types.ts';
import { PermissionsEditor, type ObjectPermissions } from './object-permissions.tsx';
import { Variables } from './variables.tsx';

const LEVELS = ['DEFAULT', 'USE_ONLY', 'MANAGE', 'DENIED'] as const;

export function Environments(props: { ws: string; project?: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/environments`;
  const query = props.project ? `?project_name=${encodeURIComponent(props.project)}` : '';
  const [open, setOpen] = useState<string | null>(null);
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
          <div class="grow">
            <span class="strong">{e.name}</span> <code class="muted">{e.identifier}</code>
            {open === e.id && (
              <Variables
                nested
                scope={{ workspace: props.ws, environmentId: e.id }}
                title={`Variables of ${e.name}`}
              />
            )}
          </div>
          <button
            type="button"
            class="small"
            aria-expanded={open === e.id}
            onClick={() => setOpen(open === e.id ? null : e.id)}
          >
            Variables <span class="visually-hidden">of {e.name}</span>
          </button>
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
