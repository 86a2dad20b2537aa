/** A project's team: workspace members and groups added to it, each with a permission set. */
import type { JSX } from 'preact';
import { useRef } from 'preact/hooks';
import { api, get, path } from '../api.ts';
import {
  ErrorBox,
  FormFooter,
  ResourceList,
  RowButton,
  RowSelect,
  SelectField,
  useForm,
} from '../components.tsx';
import { useWorkspacePeople, who, type Group, type Member, type PermissionSetRef } from './groups.tsx';

type WithSet<T> = T & { permission_set: PermissionSetRef };

export function ProjectTeam(props: { ws: string; project: string }): JSX.Element {
  const people = useWorkspacePeople(props.ws);
  const base = path('workspaces', props.ws, 'projects', props.project);
  return (
    <>
      <ErrorBox error={people.error} />
      <TeamList<Member>
        title="Project members"
        kind="member"
        base={`${base}/members`}
        listKey="members"
        nameOf={who}
        candidates={people.members}
        sets={people.sets}
      />
      <TeamList<Group>
        title="Project groups"
        kind="group"
        base={`${base}/groups`}
        listKey="groups"
        nameOf={(g) => g.name}
        candidates={people.groups}
        sets={people.sets}
      />
    </>
  );
}

function TeamList<T extends { id: number }>(props: {
  title: string;
  kind: 'member' | 'group';
  base: string;
  listKey: 'members' | 'groups';
  nameOf: (item: T) => string;
  candidates: T[];
  sets: PermissionSetRef[];
}): JSX.Element {
  const current = useRef<WithSet<T>[]>([]);
  return (
    <ResourceList<WithSet<T>>
      title={props.title}
      load={async () => {
        current.current = (await get<Record<string, WithSet<T>[]>>(props.base))[props.listKey] ?? [];
        return current.current;
      }}
      deps={[props.base]}
      keyOf={(x) => x.id}
      empty={`No ${props.kind}s added to this project yet.`}
      row={(x, { reload }) => (
        <>
          <span class="grow strong">{props.nameOf(x)}</span>
          <RowSelect
            label={`Permission set of ${props.nameOf(x)}`}
            value={String(x.permission_set.id)}
            // Until the workspace's sets are in, the row's own set keeps the select from showing blank.
            options={(props.sets.length > 0 ? props.sets : [x.permission_set]).map(
              (s) => [String(s.id), s.name] as [string, string],
            )}
            onChoose={async (id) => {
              await api('PATCH', `${props.base}/${x.id}`, { permission_set: { id: Number(id) } });
              reload();
            }}
          />
          <RowButton
            label="Remove"
            hidden={props.nameOf(x)}
            onClick={async () => {
              await api('DELETE', `${props.base}/${x.id}`);
              reload();
            }}
          />
        </>
      )}
      addLabel={`Add a ${props.kind}`}
      form={(_x, done) => (
        <AddToTeam
          kind={props.kind}
          base={props.base}
          candidates={props.candidates
            .filter((c) => !current.current.some((x) => x.id === c.id))
            .map((c) => [String(c.id), props.nameOf(c)] as [string, string])}
          sets={props.sets}
          onDone={done}
        />
      )}
    />
  );
}

function AddToTeam(props: {
  kind: string;
  base: string;
  candidates: [string, string][];
  sets: PermissionSetRef[];
  onDone: () => void;
}): JSX.Element {
  const form = useForm({ id: props.candidates[0]?.[0] ?? '', set: String(props.sets[0]?.id ?? '') });
  if (props.candidates.length === 0)
    return (
      <div class="actions-row">
        <p class="muted">Every {props.kind} of the workspace is in this project already.</p>
        <button type="button" onClick={props.onDone}>
          Close
        </button>
      </div>
    );
  return (
    <form
      class="form"
      aria-label={`Add a ${props.kind} to the project`}
      onSubmit={form.submit(async (f) => {
        await api('POST', props.base, { id: Number(f.id), permission_set: { id: Number(f.set) } });
        props.onDone();
      })}
    >
      <div class="grid2">
        <SelectField
          form={form}
          name="id"
          label={props.kind === 'member' ? 'Member' : 'Group'}
          options={props.candidates}
        />
        <SelectField
          form={form}
          name="set"
          label="Permission set"
          options={props.sets.map((s) => [String(s.id), s.name] as [string, string])}
        />
      </div>
      <FormFooter form={form} submit={`Add ${props.kind}`} onCancel={props.onDone} />
    </form>
  );
}
