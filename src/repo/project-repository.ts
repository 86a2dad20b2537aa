import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { RepositoryError, runGit } from './git-cli.ts';
import { remoteAuth, secretsOf } from './credentials.ts';

/*
 * A project's repository lives in two places: its source (an outside URL, or a hosted bare repository
 * Gantry serves itself) and a local bare mirror that every execution of the project reads from. The
 * mirror is only ever written by syncMirror; readers (resolve, checkout) use their own index files,
 * so several pipelines of one project can read it at the same time.
 */

/** True when `dir` looks like a git directory (bare repository or mirror). */
function isGitDir(dir: string): boolean {
  return existsSync(path.join(dir, 'HEAD')) && existsSync(path.join(dir, 'objects'));
}

/**
 * Creates a hosted bare repository at `barePath` that accepts pushes over smart HTTP, with HEAD on
 * refs/heads/master. Idempotent: an existing repository keeps its content and HEAD.
 */
export async function createHostedRepository(barePath: string): Promise<void> {
  const dir = path.resolve(barePath);
  if (!isGitDir(dir)) await runGit(['init', '--bare', '--quiet', '--initial-branch=master', '--', dir]);
  await runGit(['--git-dir', dir, 'config', 'http.receivepack', 'true']);
}

/**
 * Deletes a hosted repository or mirror. Refuses a directory that is neither a git directory nor
 * empty, so a wrong path from a bug can never wipe something else.
 */
export async function deleteRepository(repoPath: string): Promise<void> {
  const dir = path.resolve(repoPath);
  if (!existsSync(dir)) return;
  if (dir === path.parse(dir).root || (!isGitDir(dir) && readdirSync(dir).length > 0)) {
    throw new RepositoryError(`refusing to delete ${dir}: it is not a git repository`);
  }
  await rm(dir, { recursive: true, force: true });
}

export interface SyncMirrorOptions {
  /** Local bare mirror, created when missing. */
  mirrorPath: string;
  /** Any git URL (http(s), ssh, git, file://) or a local path, e.g. a hosted repository's path. */
  sourceUrl: string;
  /** Credentials for http(s) sources; never put in the URL, never shown in errors. */
  user?: string | undefined;
  pass?: string | undefined;
  /** `-c` options for the source's transport (see url-policy.ts: pinned addresses, no redirects). */
  gitConfig?: readonly string[] | undefined;
  /** Cancels the fetch. */
  signal?: AbortSignal | undefined;
  /**
   * The mirror's branches and tags (full name → object, unpeeled) as the caller last read them, when
   * it knows nothing else writes the mirror; saves reading them again to compare with the source.
   */
  mirrorRefs?: ReadonlyMap<string, string> | undefined;
}

/** What a sync did. */
export interface SyncResult {
  /** True when the mirror's refs or HEAD may have changed (a fetch ran, or HEAD was moved). */
  changed: boolean;
}

/*
 * Protocols a project may fetch from. Everything else (ext::, fd::, remote helpers) is refused, so a
 * repository URL cannot make the server run commands.
 */
const PROTOCOLS = ['-c', 'protocol.allow=never'].concat(
  ...['http', 'https', 'ssh', 'git', 'file'].map((p) => ['-c', `protocol.${p}.allow=always`]),
);

const syncing = new Map<string, Promise<unknown>>();

/** Runs `fn` after any earlier call for the same key settled: one fetch per mirror at a time. */
async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = syncing.get(key) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(fn);
  syncing.set(key, current);
  try {
    return await current;
  } finally {
    if (syncing.get(key) === current) syncing.delete(key);
  }
}

/**
 * Brings the mirror up to date with the source: all branches and tags, force-updated, with refs the
 * source no longer has pruned. The mirror's HEAD follows the source's default branch when the source
 * reports one. Errors are GitCommandErrors with credentials scrubbed.
 */
export async function syncMirror(opts: SyncMirrorOptions): Promise<SyncResult> {
  const dir = path.resolve(opts.mirrorPath);
  const url = opts.sourceUrl;

  if (url === '' || url.startsWith('-') || /[\x00-\x1f\x7f]/.test(url)) {
    throw new RepositoryError('the repository URL is empty or malformed');
  }
  const creds = { user: opts.user, pass: opts.pass };
  const auth = remoteAuth(creds);
  const run = { env: auth.env, secrets: secretsOf(creds), signal: opts.signal };
  const remote = [...auth.config, ...PROTOCOLS, ...(opts.gitConfig ?? [])];

  return serialised(dir, async () => {
    let changed = false;
    let known = opts.mirrorRefs;
    if (!isGitDir(dir)) {
      await runGit(['init', '--bare', '--quiet', '--', dir]);
      changed = true;
      known = undefined;
    }
    // One round trip tells both what the source has and which branch it calls default; when the
    // mirror already has exactly those refs, the fetch (the expensive part) is skipped.
    const { stdout } = await runGit([...remote, '--git-dir', dir, 'ls-remote', '--symref', '--', url], run);
    const advertised = parseAdvertisedRefs(stdout);
    const upToDate = known ? sameRefs(known, advertised.refs) : await mirrorHasRefs(dir, advertised.refs);
    if (!upToDate) {
      changed = true;
      await runGit(
        [
          ...remote,
          '--git-dir',
          dir,
          'fetch',
          '--quiet',
          '--prune',
          '--no-tags',
          '--no-write-fetch-head',
          '--',
          url,
          '+refs/heads/*:refs/heads/*',
          '+refs/tags/*:refs/tags/*',
        ],
        run,
      );
    }
    const head = advertised.head;
    if (head && advertised.refs.has(`refs/heads/${head}`) && (await headBranch(dir)) !== head) {
      changed = true;
      await runGit(['--git-dir', dir, 'symbolic-ref', 'HEAD', `refs/heads/${head}`]);
    }
    return { changed };
  });
}

function sameRefs(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, oid] of a) if (b.get(name) !== oid) return false;
  return true;
}

/** Branches and tags (not peeled) a source advertises, and the branch its HEAD names. */
function parseAdvertisedRefs(lsRemote: string): { refs: Map<string, string>; head: string | undefined } {
  const refs = new Map<string, string>();
  let head: string | undefined;
  for (const line of lsRemote.split('\n')) {
    const symref = /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line);
    if (symref) head = symref[1];
    const ref = /^([0-9a-f]{40,64})\t(refs\/(?:heads|tags)\/\S+)$/.exec(line);
    if (ref && !ref[2]!.endsWith('^{}')) refs.set(ref[2]!, ref[1]!);
  }
  return { refs, head };
}

/** True when the mirror's branches and tags are exactly `refs`. */
async function mirrorHasRefs(dir: string, refs: ReadonlyMap<string, string>): Promise<boolean> {
  const { stdout } = await runGit([
    '--git-dir',
    dir,
    'for-each-ref',
    '--format=%(objectname)\t%(refname)',
    'refs/heads',
    'refs/tags',
  ]);
  const mirror = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name) mirror.set(name, sha);
  }
  return sameRefs(mirror, refs);
}

/** All branch names of the repository. */
export async function branchNames(gitDir: string): Promise<string[]> {
  const { stdout } = await runGit([
    '--git-dir',
    path.resolve(gitDir),
    'for-each-ref',
    '--format=%(refname:lstrip=2)',
    'refs/heads',
  ]);
  return stdout.split('\n').filter((line) => line !== '');
}

/**
 * The repository's default branch: the branch HEAD points at if it exists, else "master", "main" or
 * the first branch by name; null when the repository has no branches.
 */
export async function defaultBranch(mirrorPath: string): Promise<string | null> {
  const dir = path.resolve(mirrorPath);
  const branches = await branchNames(dir);
  if (branches.length === 0) return null;
  return pickDefaultBranch(branches, await headBranch(dir));
}

/** The default branch among `branches`: `head` if it is one, else "master", "main" or the first by name. */
export function pickDefaultBranch(branches: readonly string[], head: string): string | null {
  if (branches.length === 0) return null;
  for (const candidate of [head, 'master', 'main']) {
    if (candidate && branches.includes(candidate)) return candidate;
  }
  return [...branches].sort()[0] ?? null;
}

/**
 * The branch HEAD of the bare repository at `gitDir` names ("" when detached). Read from the HEAD
 * file (no git process on the hot path); git answers when the file is not a plain symbolic ref, as
 * with the reftable format, whose HEAD file is a placeholder.
 */
export async function headBranch(gitDir: string): Promise<string> {
  const text = await readFile(path.join(gitDir, 'HEAD'), 'utf8').catch(() => '');
  const match = /^ref: refs\/heads\/(\S+)\n?$/.exec(text);
  if (match && match[1] !== '.invalid') return match[1]!;
  if (/^[0-9a-f]{40,64}\n?$/.test(text)) return '';
  const { stdout } = await runGit(['--git-dir', gitDir, 'symbolic-ref', '--quiet', 'HEAD'], {
    okCodes: [1, 128],
  });
  return stdout.trim().replace(/^refs\/heads\//, '');
}

/** Every branch and tag of a repository with the object it points at (refs/heads/..., refs/tags/...). */
export async function listRefs(gitDir: string): Promise<Map<string, string>> {
  const dir = path.resolve(gitDir);
  if (!isGitDir(dir)) return new Map();
  const { stdout } = await runGit([
    '--git-dir',
    dir,
    'for-each-ref',
    '--format=%(objectname) %(refname)',
    'refs/heads',
    'refs/tags',
  ]);
  const refs = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
  }
  return refs;
}
