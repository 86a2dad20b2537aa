import { spawn } from 'node:child_process';

/** Base class of every error the repo/ subsystem throws, so callers can tell them from bugs. */
export class RepositoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A git command exited non-zero (or could not start). Text is already scrubbed of credentials. */
export class GitCommandError extends RepositoryError {
  constructor(
    message: string,
    /** The git arguments (scrubbed). */
    readonly args: readonly string[],
    /** Exit code, or null when git was killed or could not be started. */
    readonly exitCode: number | null,
    /** git's stderr (scrubbed). */
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface RunGitOptions {
  /** Extra environment variables, layered over the sanitised inherited environment. */
  env?: Record<string, string>;
  /** Working directory; most callers pass `--git-dir` instead. */
  cwd?: string;
  /** Strings that must never appear in error text (passwords, tokens). */
  secrets?: readonly string[];
  /** Kills git (SIGTERM) when aborted, e.g. when the execution is cancelled. */
  signal?: AbortSignal;
  /** Exit codes that are not errors (e.g. 1 for `rev-parse --verify --quiet` of a missing ref). */
  okCodes?: readonly number[];
  /** Written to git's standard input, which is then closed (at once when there is none). */
  input?: string;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/*
 * Inherited GIT_* variables are dropped because some of them (GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE,
 * GIT_CONFIG_PARAMETERS, GIT_ASKPASS, ...) would silently redirect our commands, e.g. when Gantry itself
 * is started from a git hook. Only the ones an operator legitimately sets for the host are kept.
 */
const KEPT_GIT_VARS = new Set([
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_SSH_VARIANT',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_EXEC_PATH',
]);

/** The environment every git child gets: sanitised, never prompting on a terminal, English messages. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('GIT_') && !KEPT_GIT_VARS.has(key)) continue;
    if (key === 'SSH_ASKPASS') continue; // git falls back to it for credentials
    env[key] = value;
  }
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_NO_REPLACE_OBJECTS: '1', LC_ALL: 'C', ...extra };
}

/**
 * Removes credentials from text: the userinfo part of any URL ("https://user:pass@host" becomes
 * "https://***@host") and every listed secret, also in its URL-encoded and Basic-auth forms.
 */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]+@/gi, '$1***@');
  for (const secret of secrets) {
    if (secret.length < 3) continue; // scrubbing "a" would mangle everything and hide nothing
    for (const form of [secret, encodeURIComponent(secret)]) out = out.split(form).join('***');
  }
  return out;
}

/** The git subcommand in `args`, skipping global options and their values, for error messages. */
function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (['-c', '-C', '--git-dir', '--work-tree'].includes(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return '(none)';
}

/**
 * Runs `git <args>` without a shell and captures its output. Rejects with a GitCommandError carrying
 * git's (scrubbed) stderr when it exits with a code not in `okCodes` (default: only 0).
 */
export function runGit(args: readonly string[], options: RunGitOptions = {}): Promise<GitResult> {
  const secrets = options.secrets ?? [];
  const shownArgs = args.map((a) => scrub(a, secrets));
  const failure = (why: string, exitCode: number | null, stderr: string): GitCommandError => {
    const clean = scrub(stderr, secrets).trim();
    const sub = subcommand(shownArgs);
    const detail = clean ? `: ${clean.split('\n').slice(-5).join('\n')}` : '';
    return new GitCommandError(`git ${sub} ${why}${detail}`, shownArgs, exitCode, clean);
  };

  return new Promise((resolve, reject) => {
    const child = spawn('git', [...args], {
      cwd: options.cwd,
      env: gitEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: options.signal,
    });
    // A git that exits before reading all of it makes the write fail with EPIPE; its exit code says why.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => {
      const why = e.name === 'AbortError' ? 'was cancelled' : `could not run (${e.message})`;
      reject(failure(why, null, Buffer.concat(err).toString('utf8')));
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== null && (code === 0 || options.okCodes?.includes(code))) {
        resolve({ stdout, stderr, exitCode: code });
      } else if (!options.signal?.aborted) {
        reject(failure(code === null ? `was killed (${signal})` : `failed (exit ${code})`, code, stderr));
      }
    });
  });
}
