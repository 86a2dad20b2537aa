/** The workspace list, and creating a workspace. */
import type { JSX } from 'preact';
import { api, get } from '../api.ts';
import {
  Disclosure,
  ErrorBox,
  FormFooter,
  Loading,
  Page,
  TextField,
  useData,
  useForm,
} from '../components.tsx';
import { href, navigate } from '../router.ts';
import type { Workspace } from '../types.ts';

export function Workspaces(): JSX.Element {
  const { data, error } = useData(() => get<{ workspaces: Workspace[] }>('/workspaces'), []);
  return (
    <Page crumbs={[['Workspaces']]} title="Workspaces">
      <ErrorBox error={error} />
      {!data && !error && <Loading />}
      {data && (
        <section class="panel flush" aria-label="Workspaces">
          {data.workspaces.length === 0 ? (
            <p class="empty">No workspaces yet.</p>
          ) : (
            <ul class="rows">
              {data.workspaces.map((w) => (
                <li key={w.domain} class="row">
                  <a class="strong" href={href(['workspaces', w.domain])}>
                    {w.name}
                  </a>
                  <code class="muted">{w.domain}</code>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      <Disclosure label="New workspace">{(close) => <WorkspaceForm onCancel={close} />}</Disclosure>
    </Page>
  );
}

export function WorkspaceForm(props: {
  workspace?: Workspace;
  onCancel?: () => void;
  /** Editing: the page reloads what it shows (the address may not change, so nothing else would). */
  onSaved?: () => void;
}): JSX.Element {
  const w = props.workspace;
  const form = useForm({ name: w?.name ?? '', domain: w?.domain ?? '' });
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const saved = w
          ? await api<Workspace>('PATCH', `/workspaces/${encodeURIComponent(w.domain)}`, f)
          : await api<Workspace>('POST', '/workspaces', f);
        props.onSaved?.();
        navigate(href(['workspaces', saved.domain]), !!w);
      })}
    >
      <h2>{w ? 'Workspace settings' : 'New workspace'}</h2>
      <TextField form={form} name="name" label="Name" required />
      <TextField
        form={form}
        name="domain"
        label="Domain"
        required
        hint="Lower-case letters, digits and dashes; used in URLs."
      />
      <FormFooter form={form} submit={w ? 'Save workspace' : 'Create workspace'}>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </FormFooter>
    </form>
  );
}
