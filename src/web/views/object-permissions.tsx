/**
 * Buddy's per-object permissions (pipelines, environments, integrations): a level for everyone else,
 * optionally one for workspace administrators, and levels for chosen members and groups. Saved whole
 * with the object's PATCH (`{"permissions": …}`).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { get, path } from '../api.ts';
import { ErrorBox, useData } from '../components.tsx';

export interface Grant {
  id: number;
  access_level: string;
}

export interface ObjectPermissions {
  others: string;
  admins?: string;
  users: Grant[];
  groups: Grant[];
}

interface Named {
  id: number;
  name: string;
  email?: string;
}

let counter = 0;

/** A member as "name (e-mail)", a group by its name. */
const label = (c: Named): string =>
  c.email ? (c.name && c.name !== c.email ? `${c.name} (${c.email})` : c.email) : c.name;

export function PermissionsEditor(props: {
  ws: string;
  /** What the object is called in headings: "pipeline", "environment", "integration". */
  what: string;
  levels: readonly string[];
  /** Integrations also have a level for workspace administrators. */
  adminLevels?: readonly string[];
  value: Partial<ObjectPermissions> | null | undefined;
  onSave: (permissions: ObjectPermissions) => Promise<void>;
}): JSX.Element {
  const wsPath = path('workspaces', props.ws);
  const people = useData(
    () =>
      Promise.all([
        get<{ members: Named[] }>(`${wsPath}/members?per_page=100`),
        get<{ groups: Named[] }>(`${wsPath}/groups`),
      ]),
    [wsPath],
  );
  const v = props.value;
  const [others, setOthers] = useState(v?.others ?? props.levels[0] ?? 'DEFAULT');
  const [admins, setAdmins] = useState(v?.admins ?? props.adminLevels?.[0] ?? '');
  const [users, setUsers] = useState<Grant[]>(v?.users ?? []);
  const [groups, setGroups] = useState<Grant[]>(v?.groups ?? []);
  const [state, setState] = useState<{ busy?: boolean; error?: unknown; saved?: boolean }>({});
  const [id] = useState(() => `perm${++counter}`);
  const [members, allGroups] = people.data ?? [{ members: [] }, { groups: [] }];

  const save = (ev: Event): void => {
    ev.preventDefault();
    setState({ busy: true });
    const p: ObjectPermissions = { others, users, groups };
    if (props.adminLevels) p.admins = admins;
    props.onSave(p).then(
      () => setState({ saved: true }),
      (error: unknown) => setState({ error }),
    );
  };

  const levelSelect = (
    label: string,
    value: string,
    levels: readonly string[],
    onChange: (level: string) => void,
    selectId?: string,
  ): JSX.Element => (
    <select
      id={selectId}
      aria-label={selectId ? undefined : label}
      value={value}
      onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}
    >
      {levels.map((l) => (
        <option key={l} value={l}>
          {l}
        </option>
      ))}
    </select>
  );

  const grantList = (
    kind: 'member' | 'group',
    grants: Grant[],
    set: (g: Grant[]) => void,
    choices: Named[],
  ): JSX.Element => {
    const free = choices.filter((c) => !grants.some((g) => g.id === c.id));
    const nameOf = (gid: number): string => {
      const c = choices.find((x) => x.id === gid);
      return c ? label(c) : `#${gid}`;
    };
    return (
      <div class="grants">
        <h4>{kind === 'member' ? 'Members' : 'Groups'}</h4>
        {grants.length === 0 && <p class="muted small">No {kind} has its own level.</p>}
        <ul class="rows">
          {grants.map((g, i) => (
            <li key={g.id} class="row">
              <span class="grow">{nameOf(g.id)}</span>
              {levelSelect(`Level of ${nameOf(g.id)}`, g.access_level, props.levels, (level) =>
                set(grants.map((x, j) => (j === i ? { ...x, access_level: level } : x))),
              )}
              <button type="button" class="small" onClick={() => set(grants.filter((_, j) => j !== i))}>
                Remove <span class="visually-hidden">{nameOf(g.id)}</span>
              </button>
            </li>
          ))}
        </ul>
        {free.length > 0 && (
          <AddGrant
            kind={kind}
            choices={free}
            label={label}
            onAdd={(gid) => set([...grants, { id: gid, access_level: props.levels[0] ?? 'DEFAULT' }])}
          />
        )}
      </div>
    );
  };

  return (
    <form class="form" aria-labelledby={`${id}-title`} onSubmit={save}>
      <h3 id={`${id}-title`}>Who may use this {props.what}</h3>
      <ErrorBox error={people.error} />
      <div class="grid2">
        <div class="field">
          <label for={`${id}-others`}>Everyone else</label>
          {levelSelect('Everyone else', others, props.levels, setOthers, `${id}-others`)}
        </div>
        {props.adminLevels && (
          <div class="field">
            <label for={`${id}-admins`}>Workspace administrators</label>
            {levelSelect('Workspace administrators', admins, props.adminLevels, setAdmins, `${id}-admins`)}
          </div>
        )}
      </div>
      {grantList('member', users, setUsers, members.members)}
      {grantList('group', groups, setGroups, allGroups.groups)}
      <ErrorBox error={state.error} />
      <div class="actions-row">
        <button class="primary" type="submit" disabled={state.busy}>
          {state.busy ? 'Working…' : 'Save permissions'}
        </button>
        <span role="status" class="muted small">
          {state.saved ? 'Permissions saved.' : ''}
        </span>
      </div>
    </form>
  );
}

function AddGrant(props: {
  kind: string;
  choices: Named[];
  label: (c: Named) => string;
  onAdd: (id: number) => void;
}): JSX.Element {
  const [pick, setPick] = useState(String(props.choices[0]?.id ?? ''));
  const [id] = useState(() => `grant${++counter}`);
  const chosen = props.choices.some((c) => String(c.id) === pick) ? pick : String(props.choices[0]?.id);
  return (
    <div class="inline-add">
      <label for={id}>Give a {props.kind} its own level</label>
      <select id={id} value={chosen} onChange={(e) => setPick((e.currentTarget as HTMLSelectElement).value)}>
        {props.choices.map((c) => (
          <option key={c.id} value={String(c.id)}>
            {props.label(c)}
          </option>
        ))}
      </select>
      <button type="button" class="small" onClick={() => props.onAdd(Number(chosen))}>
        Add {props.kind}
      </button>
    </div>
  );
}
