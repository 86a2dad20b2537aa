import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Credentials for an http(s) source repository. */
export interface GitCredentials {
  user?: string | undefined;
  pass?: string | undefined;
}

/*
 * git asks GIT_ASKPASS for a username and a password when a server answers 401. The helper only echoes
 * two environment variables, so the secrets live in the child's environment (readable by the same user
 * only) instead of its command line or the URL, and git never writes them anywhere. When no
 * credentials were given the helper fails, so git reports "could not read Username" instead of
 * sending empty ones.
 */
const ASKPASS_SCRIPT = `#!/bin/sh
[ -n "$GANTRY_GIT_AUTH" ] || exit 1
case "$1" in
  Username*|username*) printf '%s\\n' "$GANTRY_GIT_USERNAME" ;;
  *) printf '%s\\n' "$GANTRY_GIT_PASSWORD" ;;
esac
`;

let askpassPath: string | null = null;

/** Path of the askpass helper, (re)created on demand since tmp cleaners may remove it. */
function askpassHelper(): string {
  if (askpassPath && existsSync(askpassPath)) return askpassPath;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-askpass-'));
  const file = path.join(dir, 'askpass.sh');
  writeFileSync(file, ASKPASS_SCRIPT, { mode: 0o700 });
  chmodSync(file, 0o700);
  askpassPath = file;
  // One private directory per process (a fixed name in a shared /tmp could be planted by another user).
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return file;
}

/**
 * Environment variables and `-c` options for a git command that talks to a remote. Always disables
 * credential helpers and `core.askPass`, so an operator's stored credentials are never offered to a
 * URL a project user chose.
 */
export function remoteAuth(creds: GitCredentials): { env: Record<string, string>; config: string[] } {
  const config = ['-c', 'credential.helper=', '-c', 'core.askPass='];
  const env: Record<string, string> = { GIT_ASKPASS: askpassHelper() };
  if (creds.pass !== undefined || creds.user !== undefined) {
    env.GANTRY_GIT_AUTH = '1';
    // git needs some username to send Basic auth; token-only servers ignore it.
    env.GANTRY_GIT_USERNAME = creds.user ?? 'gantry';
    env.GANTRY_GIT_PASSWORD = creds.pass ?? '';
  }
  return { env, config };
}

/** Secrets to scrub from error text. */
export function secretsOf(creds: GitCredentials): string[] {
  const out: string[] = [];
  if (creds.pass) out.push(creds.pass);
  if (creds.user && creds.pass) out.push(Buffer.from(`${creds.user}:${creds.pass}`).toString('base64'));
  return out;
}
