/** The signed-in user and their API tokens: create (the value is shown once), revoke. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, get } from '../api.ts';
import {
  CopyLine,
  DeleteButton,
  Disclosure,
  FormFooter,
  Page,
  TextField,
  When,
  useData,
  useForm,
  Pending,
} from '../components.tsx';
import type { Token, User } from '../types.ts';
// The one list the server enforces, so a new scope shows up here without a second edit.
import { SCOPES } from '../../domain/scopes.ts';

export function UserView(): JSX.Element {
  const { data, error, reload } = useData(
    () =>
      Promise.all([get<User>('/user'), get<{ access_tokens: Token[] }>('/user/tokens').catch(() => null)]),
    [],
  );
  const [created, setCreated] = useState<Token | null>(null);
  const crumbs: [string, string?][] = [['Workspaces', '#/'], ['Your account']];
  if (error || !data) return <Pending crumbs={crumbs} title="Your account" error={error} loaded={!!data} />;
  const [user, tokens] = data;
  return (
    <Page crumbs={crumbs} title={user.name}>
      <section class="panel">
        <dl class="meta">
          <dt>E-mail</dt>
          <dd>{user.email ?? '—'}</dd>
        </dl>
      </section>
      {created?.token && (
        <section class="panel notice" role="status">
          <h2>New token “{created.name}”</h2>
          <p>Copy it now: it is shown only this once.</p>
          <CopyLine text={created.token} label="Copy the new token" />
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </section>
      )}
      <section class="panel" aria-labelledby="tokens-title">
        <h2 id="tokens-title">API tokens</h2>
        {tokens === null && <p class="muted">This token may not list tokens (TOKEN_INFO).</p>}
        <ul class="rows">
          {tokens?.access_tokens.map((t) => (
            <li key={t.id} class="row">
              <span class="strong grow">{t.name}</span>
              <span class="muted small">
                {t.scopes.length} scopes · expires {t.expires_at ? <When iso={t.expires_at} /> : 'never'}
              </span>
              <DeleteButton
                what={`token ${t.name}`}
                onDelete={async () => {
                  await api('DELETE', `/user/tokens/${encodeURIComponent(t.id)}`);
                  reload();
                }}
              />
            </li>
          ))}
        </ul>
        <Disclosure label="New token">
          {(close) => (
            <TokenForm
              onCreated={(t) => {
                setCreated(t);
                close();
                reload();
              }}
              onCancel={close}
            />
          )}
        </Disclosure>
      </section>
    </Page>
  );
}

function TokenForm(props: { onCreated: (t: Token) => void; onCancel: () => void }): JSX.Element {
  const form = useForm({
    name: '',
    expires_in_days: '30',
    ...Object.fromEntries(SCOPES.map((s) => [`scope_${s}`, false])),
  } as Record<string, string | boolean>);
  return (
    <form
      class="form"
      onSubmit={form.submit(async (f) => {
        const scopes = SCOPES.filter((s) => f[`scope_${s}`] === true);
        const days = Number(f.expires_in_days);
        const body: Record<string, unknown> = { name: f.name, scopes };
        if (days > 0) body.expires_at = new Date(Date.now() + days * 86_400_000).toISOString();
        props.onCreated(await api<Token>('POST', '/user/tokens', body));
      })}
    >
      <TextField form={form} name="name" label="Token name" required />
      <TextField
        form={form}
        name="expires_in_days"
        label="Expires after (days, empty: never)"
        type="number"
      />
      <fieldset>
        <legend>Scopes</legend>
        <div class="checks">
          {SCOPES.map((s) => (
            <label key={s} class="check-inline">
              <input
                type="checkbox"
                checked={form.values[`scope_${s}`] === true}
                onChange={(ev) => form.set(`scope_${s}`, (ev.currentTarget as HTMLInputElement).checked)}
              />{' '}
              {s}
            </label>
          ))}
        </div>
      </fieldset>
      <FormFooter form={form} submit="Create token">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </FormFooter>
    </form>
  );
}
