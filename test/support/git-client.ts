import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tempDirForProcess } from './temp-dirs.ts';

const run = promisify(execFile);
const home = tempDirForProcess('gantry-git-home-');

/**
 * git as a user's client (no prompts, credential helpers or user config), asynchronous because the
 * server under test runs in the same process: a synchronous git would deadlock it.
 */
export async function gitClient(
  cwd: string,
  ...args: string[]
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Mike',
    GIT_AUTHOR_EMAIL: 'mike@company.com',
    GIT_COMMITTER_NAME: 'Mike',
    GIT_COMMITTER_EMAIL: 'mike@company.com',
  };
  try {
    const { stdout, stderr } = await run('git', ['-c', 'credential.helper=', ...args], { cwd, env });
    return { ok: true, stdout: stdout.trim(), stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: (e.stdout ?? '').trim(), stderr: e.stderr ?? '' };
  }
}

/** `url` with `x:<password>@` inserted, as git over HTTP takes a Gantry token. */
export function withCredentials(url: string, password: string): string {
  const u = new URL(url);
  u.username = 'x';
  u.password = password;
  return u.toString();
}

/** Polls `probe` every 50 ms until it returns something truthy (or throws after `timeoutMs`). */
export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
