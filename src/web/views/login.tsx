/**
 * Sign-in: e-mail and password (POST /auth/sign-in hands out a 12-hour token), or a pasted API token
 * (a new server writes its first admin token to <data-dir>/admin.token). Also the page of a one-time
 * password link (#/set-password?token=...).
 */
import type { JSX } from 'preact';
import { API, api, ApiError } from '../api.ts';
import { FormFooter, Page, TextField, useForm } from '../components.tsx';
import { navigate } from '../router.ts';
import { session } from '../session.ts';

async function checkToken(token: string): Promise<void> {
  const res = await fetch(`${API}/user`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    cache: 'no-store',
  });
  if (!res.ok) throw new Error(res.status === 401 ? 'That token is not valid.' : `HTTP ${res.status}`);
}

async function signInWithPassword(email: string, password: string): Promise<void> {
  const res = await api<{ token: string }>('POST', '/auth/sign-in', { email, password });
  session.signIn(res.token);
}

export function Login(props: { message: string }): JSX.Element {
  const pw = useForm({ email: '', password: '' });
  const tok = useForm({ token: '' });
  return (
    <section class="panel login" aria-labelledby="login-title">
      <h1 id="login-title">Sign in to Gantry</h1>
      {props.message && (
        <div class="alert error" role="alert">
          {props.message}
        </div>
      )}
      <form
        aria-label="Password sign-in"
        onSubmit={pw.submit(async ({ email, password }) => {
          try {
            await signInWithPassword(email.trim(), password);
          } catch (e) {
            // A wrong password is about the form, not one field.
            if (e instanceof ApiError && e.status === 401) throw new Error(e.message);
            throw e;
          }
        })}
      >
        <TextField form={pw} name="email" label="E-mail" type="email" autocomplete="username" required />
        <TextField
          form={pw}
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          required
        />
        <FormFooter form={pw} submit="Sign in" />
      </form>
      <h2 class="or">Or use an API token</h2>
      <p class="muted small">
        A new server writes its first admin token to <code>&lt;data-dir&gt;/admin.token</code> (e.g.{' '}
        <code>cat ./data/admin.token</code>); more with <code>gantry token create --name me</code>.
      </p>
      <form
        aria-label="Token sign-in"
        onSubmit={tok.submit(async ({ token }) => {
          const t = token.trim();
          if (!t) throw new Error('Paste a token first.');
          // Checked before it is kept: a wrong token must not be stored.
          await checkToken(t);
          session.signIn(t);
        })}
      >
        <TextField form={tok} name="token" label="API token" type="password" required />
        <FormFooter form={tok} submit="Sign in with the token" />
      </form>
      <p class="muted small">
        The token stays in this browser (localStorage) and is sent as “Authorization: Bearer”. Live views use
        short-lived stream tickets, never the token in a URL.
      </p>
    </section>
  );
}

/** A one-time password link from an invitation: choose a password, then sign in with it. */
export function SetPassword(props: { token: string }): JSX.Element {
  const form = useForm({ password: '', confirm: '' });
  return (
    <Page crumbs={[['Set your password']]} title="Set your password">
      <section class="panel login">
        <form
          onSubmit={form.submit(async ({ password, confirm }) => {
            if (password !== confirm) throw new ApiError(400, 'confirm: the two passwords differ');
            const user = await api<{ email: string }>('POST', '/auth/password', {
              token: props.token,
              password,
            });
            await signInWithPassword(user.email, password);
            navigate('#/', true);
          })}
        >
          <TextField
            form={form}
            name="password"
            label="New password"
            type="password"
            autocomplete="new-password"
            hint="At least 8 characters."
            required
          />
          <TextField
            form={form}
            name="confirm"
            label="The same password again"
            type="password"
            autocomplete="new-password"
            required
          />
          <FormFooter form={form} submit="Set password and sign in" />
        </form>
      </section>
    </Page>
  );
}
