/** Workspace groups (create, edit, delete) and each group's members (add, MEMBER/MANAGER, remove). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import {
  CheckField,
  EditDelete,
  ErrorBox,
  FormFooter,
  ResourceList,
  RowButton,
  RowSelect,
  SelectField,
  TextField,
  useData,
  useForm,
} from '../components.tsx';
import type { BodyOf, Group, GroupMember, Member } from '../types.ts';

export type { Group, Member };

/** A group member's roles: a MANAGER may add and remove the group's members. */
const ROLES = ['MEMBER', 'MANAGER'] as const;

export interface PermissionSetRef {
  id: number;
  name: string;
}

/** The workspace's members and permission sets, for the pickers of the team and group forms. */
export function useWorkspacePeople(ws: string): {
  members: Member[];
  groups: Group[];
  sets: PermissionSetRef[];
  error: unknown;
} {
  const base = path('workspaces', ws);
  const { data, error } = useData(
    () =>
      Promise.all([
        get<{ members: Member[] }>(`${base}/members?per_page=100`),
        get<{ groups: Group[] }>(`${base}/groups`),
        get<{ permission_sets: PermissionSetRef[] }>(`${base}/permissions`),
      ]),
    [base],
  );
  return {
    members: data?.[0].members ?? [],
    groups: data?.[1].groups ?? [],
    sets: data?.[2].permission_sets ?? [],
    error,
  };
}

export const who = (m: Pick<Member, 'name' | 'email'>): string =>
  m.name && m.name !== m.email ? `${m.name} (${m.email})` : m.email;

export function Groups(props: { ws: string }): JSX.Element {
  const base = `${path('workspaces', props.ws)}/groups`;
  const [open, setOpen] = useState<number | null>(null);
  const people = useWorkspacePeople(props.ws);
  return (
    <ResourceList<Group>
      title="Groups"
      load={async () => (await get<{ groups: Group[] }>(base)).groups}
      deps={[base]}
      keyOf={(g) => g.id}
      empty="No groups yet."
      addLabel="New group"
      form={(g, done) => <GroupForm base={base} group={g} sets={people.sets} onDone={done} />}
      row={(g, { edit, reload }) => (
        <>
          <div class="grow">
            <span class="strong">{g.name}</span>
            {g.description && <div class="muted small">{g.description}</div>}
            {open === g.id && (
              <GroupMembers base={`${base}/${g.id}/members`} group={g} members={people.members} />
            )}
          </div>
          <span class="actions-row">
            <button
              type="button"
              class="small"
              aria-expanded={open === g.id}
              onClick={() => setOpen(open === g.id ? null : g.id)}
            >
              Members <span class="visually-hidden">of {g.name}</span>
            </button>
            <EditDelete
              name={g.name}
              what={`group ${g.name}`}
              onEdit={edit}
              onDelete={async () => {
                await api('DELETE', `${base}/${g.id}`);
                reload();
              }}
            />
          </span>
        </>
      )}
    />
  );
}

function GroupForm(props: {
  base: string;
  group?: Group;
  sets: PermissionSetRef[];
  onDone: () => void;
}): JSX.Element {
  const g = props.group;
  const form = useForm({
    name: g?.name ?? '',
    description: g?.description ?? '',
    auto_assign_to_new_projects: g?.auto_assign_to_new_projects ?? false,
    auto_assign_permission_set_id: String(g?.auto_assign_permission_set_id ?? props.sets[0]?.id ?? ''),
  });
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const body: BodyOf<'/workspaces/{workspace}/groups', 'post'> = {
          name: f.name,
          description: f.description,
          auto_assign_to_new_projects: f.auto_assign_to_new_projects,
        };
        if (f.auto_assign_to_new_projects && f.auto_assign_permission_set_id)
          body.auto_assign_permission_set_id = Number(f.auto_assign_permission_set_id);
        if (g) await api('PATCH', `${props.base}/${g.id}`, body);
        else await api('POST', props.base, body);
        props.onDone();
      })}
    >
      <TextField form={form} name="name" label="Group name" required />
      <TextField form={form} name="description" label="Description" />
      <CheckField form={form} name="auto_assign_to_new_projects" label="Add to every new project" />
      {form.values.auto_assign_to_new_projects && (
        <SelectField
          form={form}
          name="auto_assign_permission_set_id"
          label="With the permission set"
          options={props.sets.map((s) => [String(s.id), s.name] as [string, string])}
        />
      )}
      <FormFooter form={form} submit={g ? 'Save group' : 'Create group'} onCancel={props.onDone} />
    </form>
  );
}

function GroupMembers(props: { base: string; group: Group; members: Member[] }): JSX.Element {
  const { data, error, reload } = useData(
    async () => (await get<{ members: GroupMember[] }>(props.base)).members,
    [props.base],
  );
  const inGroup = data ?? [];
  const free = props.members.filter((m) => !inGroup.some((x) => x.id === m.id));
  const form = useForm({ id: '', status: 'MEMBER' });
  const chosen = free.some((m) => String(m.id) === form.values.id)
    ? form.values.id
    : String(free[0]?.id ?? '');
  return (
    <div class="nested" aria-label={`Members of ${props.group.name}`} role="group">
      <ErrorBox error={error} />
      {inGroup.length === 0 && data && <p class="muted small">Nobody in this group yet.</p>}
      <ul class="rows">
        {inGroup.map((m) => (
          <li key={m.id} class="row">
            <span class="grow">{who(m)}</span>
            <RowSelect
              label={`Role of ${who(m)} in ${props.group.name}`}
              value={m.status ?? 'MEMBER'}
              options={ROLES}
              onChoose={async (status) => {
                await api('PATCH', `${props.base}/${m.id}`, { status });
                reload();
              }}
            />
            <RowButton
              label="Remove"
              hidden={`${who(m)} from ${props.group.name}`}
              onClick={async () => {
                await api('DELETE', `${props.base}/${m.id}`);
                reload();
              }}
            />
          </li>
        ))}
      </ul>
      {free.length > 0 && (
        <form
          class="form inline"
          aria-label={`Add a member to ${props.group.name}`}
          onSubmit={form.submit(async (f) => {
            await api('POST', props.base, { id: Number(chosen), status: f.status });
            reload();
          })}
        >
          <div class="grid2">
            <SelectField
              form={{ ...form, values: { ...form.values, id: chosen } }}
              name="id"
              label="Member"
              options={free.map((m) => [String(m.id), who(m)] as [string, string])}
            />
            <SelectField form={form} name="status" label="Role" options={ROLES} />
          </div>
          <FormFooter form={form} submit="Add to group" />
        </form>
      )}
    </div>
  );
}
