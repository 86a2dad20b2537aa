/** Workspace members (invite by e-mail, admin, remove) and permission sets (create, edit, delete). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import {
  CheckField,
  CopyLine,
  EditDelete,
  FormFooter,
  ResourceList,
  RowButton,
  SelectField,
  TextField,
  useData,
  useForm,
} from '../components.tsx';
import type { Member, PermissionSet } from '../types.ts';

const LEVELS = {
  pipeline_access_level: ['DENIED', 'READ_ONLY', 'RUN_ONLY', 'READ_WRITE'],
  repository_access_level: ['DENIED', 'READ_ONLY', 'READ_WRITE', 'MANAGE'],
  environment_access_level: ['DENIED', 'USE_ONLY', 'MANAGE'],
  sandbox_access_level: ['DENIED', 'READ_ONLY', 'RUN_ONLY', 'READ_WRITE'],
  target_access_level: ['DENIED', 'READ_ONLY', 'USE_ONLY', 'MANAGE'],
  project_team_access_level: ['READ_ONLY', 'MANAGE'],
} satisfies Partial<Record<keyof PermissionSet, string[]>>;
const FIELDS = Object.keys(LEVELS) as (keyof typeof LEVELS)[];
const label = (field: string): string =>
  field
    .replace(/_access_level$/, '')
    .replace(/_/g, ' ')
    .replace(/^./, (c) => c.toUpperCase());

export function Members(props: { ws: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/members`;
  const [invited, setInvited] = useState<{ email: string; url?: string } | null>(null);
  const [generation, setGeneration] = useState(0);
  const form = useForm({ email: '' });
  return (
    <ResourceList<Member>
      title="Members"
      load={async () => (await get<{ members: Member[] }>(`${base}?per_page=100`)).members}
      deps={[base, generation]}
      keyOf={(m) => m.id}
      form={(m, done) => m && <MemberForm base={base} ws={props.ws} member={m} onDone={done} />}
      row={(m, { edit, reload }) => (
        <>
          <span class="grow">
            <span class="strong">{m.name}</span> <span class="muted small">{m.email}</span>
            {m.auto_assign_to_new_projects && <span class="tag">added to new projects</span>}
          </span>
          {m.workspace_owner ? <span class="tag">owner</span> : m.admin && <span class="tag">admin</span>}
          {!m.workspace_owner && (
            <>
              <RowButton
                label={m.admin ? 'Revoke admin' : 'Make admin'}
                hidden={m.email}
                onClick={async () => {
                  await api('PATCH', `${base}/${m.id}`, { admin: !m.admin });
                  reload();
                }}
              />
              <EditDelete
                name={m.email}
                what={`member ${m.email}`}
                onEdit={edit}
                onDelete={async () => {
                  await api('DELETE', `${base}/${m.id}`);
                  reload();
                }}
              />
            </>
          )}
        </>
      )}
    >
      {invited && (
        <div class="notice-inline" role="status">
          <p>
            {invited.email} is a member now.
            {invited.url ? ' Send them this one-time link to set a password (shown once):' : ''}
          </p>
          {invited.url && <CopyLine text={invited.url} label="Copy the invitation link" />}
        </div>
      )}
      <form
        class="form"
        aria-label="Invite a member"
        onSubmit={form.submit(async ({ email }) => {
          const res = await api<Member & { invitation_url?: string }>('POST', base, { email: email.trim() });
          setInvited({ email: res.email, url: res.invitation_url });
          form.set('email', '');
          setGeneration((g) => g + 1);
        })}
      >
        <TextField form={form} name="email" label="Invite by e-mail" type="email" required />
        <FormFooter form={form} submit="Invite" />
      </form>
    </ResourceList>
  );
}

/** A member's auto-assignment: added to every new project with a permission set. */
function MemberForm(props: { base: string; ws: string; member: Member; onDone: () => void }): JSX.Element {
  const m = props.member;
  const sets = useData(
    async () =>
      (await get<{ permission_sets: PermissionSet[] }>(`${path('workspaces', props.ws)}/permissions`))
        .permission_sets,
    [props.ws],
  );
  const form = useForm({
    auto_assign_to_new_projects: m.auto_assign_to_new_projects ?? false,
    auto_assign_permission_set_id: String(m.auto_assign_permission_set_id ?? ''),
  });
  const options = (sets.data ?? []).map((s) => [String(s.id), s.name] as [string, string]);
  const chosen = form.values.auto_assign_permission_set_id || options[0]?.[0] || '';
  return (
    <form
      class="form"
      aria-label={`Edit ${m.email}`}
      onSubmit={form.submit(async (f) => {
        const body: Record<string, unknown> = { auto_assign_to_new_projects: f.auto_assign_to_new_projects };
        if (f.auto_assign_to_new_projects) body.auto_assign_permission_set_id = Number(chosen);
        await api('PATCH', `${props.base}/${m.id}`, body);
        props.onDone();
      })}
    >
      <h3>{m.email}</h3>
      <CheckField form={form} name="auto_assign_to_new_projects" label="Add to every new project" />
      {form.values.auto_assign_to_new_projects && (
        <SelectField
          form={{ ...form, values: { ...form.values, auto_assign_permission_set_id: chosen } }}
          name="auto_assign_permission_set_id"
          label="With the permission set"
          options={options}
        />
      )}
      <FormFooter form={form} submit="Save member" onCancel={props.onDone} />
    </form>
  );
}

export function PermissionSets(props: { ws: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/permissions`;
  return (
    <ResourceList<PermissionSet>
      title="Permission sets"
      load={async () => (await get<{ permission_sets: PermissionSet[] }>(base)).permission_sets}
      deps={[base]}
      keyOf={(s) => s.id}
      addLabel="New permission set"
      form={(s, done) => <PermissionSetForm base={base} set={s} onDone={done} />}
      row={(s, { edit, reload }) => (
        <>
          <span class="grow">
            <span class="strong">{s.name}</span>{' '}
            <span class="muted small">
              {FIELDS.map((f) => `${label(f)}: ${String(s[f] ?? '—')}`).join(' · ')}
            </span>
          </span>
          {s.type === 'CUSTOM' ? (
            <EditDelete
              name={s.name}
              what={`permission set ${s.name}`}
              onEdit={edit}
              onDelete={async () => {
                await api('DELETE', `${base}/${s.id}`);
                reload();
              }}
            />
          ) : (
            <span class="tag">built in</span>
          )}
        </>
      )}
    />
  );
}

function PermissionSetForm(props: { base: string; set?: PermissionSet; onDone: () => void }): JSX.Element {
  const s = props.set;
  const form = useForm({
    name: s?.name ?? '',
    description: s?.description ?? '',
    ...Object.fromEntries(FIELDS.map((f) => [f, String(s?.[f] ?? LEVELS[f][0])])),
  } as Record<string, string | boolean>);
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const body = { ...f, description: f.description || null };
        if (s) await api('PATCH', `${props.base}/${s.id}`, body);
        else await api('POST', props.base, body);
        props.onDone();
      })}
    >
      <TextField form={form} name="name" label="Name" required />
      <TextField form={form} name="description" label="Description" />
      <div class="grid2">
        {FIELDS.map((f) => (
          <SelectField key={f} form={form} name={f} label={label(f)} options={LEVELS[f]} />
        ))}
      </div>
      <FormFooter
        form={form}
        submit={s ? 'Save permission set' : 'Create permission set'}
        onCancel={props.onDone}
      />
    </form>
  );
}
