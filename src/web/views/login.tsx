/** Sign-in: paste an API token (the server writes the first admin token to <data-dir>/admin.token). */
import type { JSX } from 'preact';
import { api } from '../api.ts';
import { FormFooter, TextField, useForm } from '../components.tsx';
import { session } from '../session.ts';

export function Login(props: { message: string }): JSX.Element {
  const form = useForm({ token: '' });
  return (
    <section class="panel login">
      <h1>Sign in to Gantry</h1>
      <p>
        Paste an API token. A new server writes its first admin token to{' '}
        <code>&lt;data-dir&gt;/admin.token</code> (e.g. <code>cat ./data/admin.token</code>); more with{' '}
        <code>gantry token create --name me</code>.
      </p>
      {props.message && (
        <div class="alert error" role="alert">
          {props.message}
        </div>
      )}
      <form
        onSubmit={form.submit(async ({ token }) => {
          const t = token.trim();
          if (!t) throw new Error('Paste a token first.');
          // Check it before keeping it: a wrong token must not be stored.
          const res = await fetch(`${location.pathname.replace(/[^/]*$/, '')}api/user`, {
            headers: { Authorization: `Bearer ${t}`, Accept: 'application/json' },
            cache: 'no-store',
          });
          if (!res.ok)
            throw new Error(res.status === 401 ? 'That token is not valid.' : `HTTP ${res.status}`);
          session.signIn(t);
          await api('GET', '/user');
        })}
      >
        <TextField form={form} name="token" label="API token" type="password" required />
        <FormFooter form={form} submit="Sign in" />
      </form>
      <p class="muted small">
        The token stays in this browser (localStorage) and is sent as “Authorization: Bearer”. Live views use
        short-lived stream tickets, never the token in a URL.
      </p>
    </section>
  );
}
