import { execFile } from 'node:child_process';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import { StartupError } from './startup-error.ts';

/** Resolves `promise`, or rejects after `ms` milliseconds saying what did not answer. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The installed git's version ("2.39.5"); throws a StartupError when git cannot be run. */
export async function checkGit(): Promise<string> {
  const out = await new Promise<string>((resolve, reject) => {
    execFile('git', ['--version'], { timeout: 10_000 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      throw new StartupError(
        'git is not installed or not on PATH; Gantry needs the git CLI (Debian: apt-get install git)',
      );
    throw new StartupError(`git --version failed: ${err.message.split('\n')[0]}`);
  });
  return /git version (\S+)/.exec(out)?.[1] ?? out.trim();
}

/** How to get a Docker engine running, for messages about an engine that does not answer. */
export const START_DOCKER_HINT =
  'start one (systemctl start docker, or dockerd --bridge=none --iptables=false, or bash scripts/setup-docker.sh) or point --docker-host / GANTRY_DOCKER_HOST at a running engine';

/** The first line of an engine error without the runtime's own "cannot reach ... at <host>:" prefix. */
function detail(err: unknown): string {
  return (err as Error).message.split('\n')[0]!.replace(/^cannot reach the Docker engine at \S+: /, '');
}

/** Throws a StartupError when the Docker engine at `dockerHost` does not answer a ping within 10 s. */
export async function checkDocker(runtime: ContainerRuntime, dockerHost: string): Promise<void> {
  try {
    await withTimeout(runtime.ping(), 10_000, 'the Docker engine');
  } catch (err) {
    throw new StartupError(
      `the Docker engine at ${dockerHost} does not answer (${detail(err)}); ${START_DOCKER_HINT}`,
    );
  }
}

/** A database URL with its password (and any query string, which may carry one) replaced, for messages. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/(\/\/[^/:@\s]*):[^@/\s]*@/, '$1:***@').replace(/\?.*$/, '?...');
}
