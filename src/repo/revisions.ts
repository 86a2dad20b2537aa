import path from 'node:path';
import { runGit } from './git-cli.ts';
import { defaultBranch } from './project-repository.ts';
import {
  EmptyRepositoryError,
  InvalidRefError,
  RevisionNotFoundError,
  SHA_PATTERN,
  assertRefName,
  assertRevision,
} from './refs.ts';

/** What an execution asks to run on, as in Buddy's "run execution" request. */
export interface RevisionRequest {
  /** Full or abbreviated SHA, or "HEAD" (the tip of the branch/tag/default branch). */
  revision?: string | null | undefined;
  branch?: string | null | undefined;
  tag?: string | null | undefined;
}

/** The commit an execution runs on, with the branch/tag it is reported under. */
export interface ResolvedRevision {
  sha: string;
  branch: string | null;
  tag: string | null;
}

/**
 * The questions resolving a revision asks of a repository. `gitLookup` answers them with git; a
 * cached lookup (see RefSnapshot) answers from refs it has read once and asks git only for the rest.
 */
export interface RevisionLookup {
  /** True when the repository has at least one branch or tag. */
  hasAnyRef(): Promise<boolean>;
  /** Full SHA of the commit `ref` (a full ref name) points at, or null when it does not exist. */
  refCommit(ref: string): Promise<string | null>;
  /** Full SHA of the commit named by the hex `sha` (full or abbreviated), or null. */
  shaCommit(sha: string): Promise<string | null>;
  /** The repository's default branch (see defaultBranch), or null when it has no branches. */
  defaultBranch(): Promise<string | null>;
}

async function refCommit(gitDir: string, ref: string): Promise<string | null> {
  const { stdout, exitCode } = await runGit(
    ['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
    { okCodes: [1, 128] },
  );
  return exitCode === 0 ? stdout.trim() : null;
}

/**
 * An abbreviation that is also a ref name would be resolved by git as the ref, hence the prefix
 * check; a tag object's SHA resolves to its commit.
 */
async function shaCommit(gitDir: string, sha: string): Promise<string | null> {
  const { stdout, exitCode } = await runGit(
    ['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', '--end-of-options', sha],
    { okCodes: [1, 128] },
  );
  const oid = stdout.trim();
  if (exitCode !== 0 || !oid.startsWith(sha.toLowerCase())) return null;
  return refCommit(gitDir, oid);
}

async function hasAnyRef(gitDir: string): Promise<boolean> {
  const { stdout } = await runGit([
    '--git-dir',
    gitDir,
    'for-each-ref',
    '--count=1',
    '--format=%(refname)',
    'refs/heads',
    'refs/tags',
  ]);
  return stdout.trim() !== '';
}

/** Answers every lookup with a git command on the repository at `gitDir`. */
export function gitLookup(gitDir: string): RevisionLookup {
  const dir = path.resolve(gitDir);
  return {
    hasAnyRef: () => hasAnyRef(dir),
    refCommit: (ref) => refCommit(dir, ref),
    shaCommit: (sha) => shaCommit(dir, sha),
    defaultBranch: () => defaultBranch(dir),
  };
}

function notFound(kind: 'revision' | 'branch' | 'tag', value: string): RevisionNotFoundError {
  const where = kind === 'revision' ? ' in the repository' : '';
  return new RevisionNotFoundError(`${kind} ${JSON.stringify(value)} not found${where}`, kind, value);
}

/**
 * Resolves what an execution should run on. `HEAD` (or no revision) is the tip of `branch` if given,
 * else of `tag`, else of `fallbackBranch` (the pipeline's/project's branch; null = the mirror's own
 * default). A SHA must exist; a branch or tag given alongside must exist too. With only a SHA, the
 * branch reported is `fallbackBranch`. `repository` is the mirror's path (answered by git) or a
 * lookup. Throws InvalidRefError, RevisionNotFoundError or EmptyRepositoryError.
 */
export async function resolveRevision(
  repository: string | RevisionLookup,
  request: RevisionRequest,
  fallbackBranch: string | null,
): Promise<ResolvedRevision> {
  const repo = typeof repository === 'string' ? gitLookup(repository) : repository;
  // Buddy clients send "" as often as null for "not given".
  const revision = request.revision || null;
  const branch = request.branch || null;
  const tag = request.tag || null;
  if (branch) assertRefName('branch', branch);
  if (tag) assertRefName('tag', tag);
  if (revision) assertRevision(revision);
  if (fallbackBranch) assertRefName('branch', fallbackBranch);
  if (!(await repo.hasAnyRef())) throw new EmptyRepositoryError();

  const branchSha = branch ? await repo.refCommit(`refs/heads/${branch}`) : null;
  if (branch && !branchSha) throw notFound('branch', branch);
  const tagSha = tag ? await repo.refCommit(`refs/tags/${tag}`) : null;
  if (tag && !tagSha) throw notFound('tag', tag);

  if (revision && revision !== 'HEAD') {
    const sha = await repo.shaCommit(revision);
    if (!sha) throw notFound('revision', revision);
    const reported = branch || tag ? branch : fallbackBranch || (await repo.defaultBranch());
    return { sha, branch: reported, tag };
  }
  if (branch && branchSha) return { sha: branchSha, branch, tag };
  if (tag && tagSha) return { sha: tagSha, branch: null, tag };

  const name = fallbackBranch || (await repo.defaultBranch());
  if (!name) throw new EmptyRepositoryError();
  const sha = await repo.refCommit(`refs/heads/${name}`);
  if (!sha) throw notFound('branch', name);
  return { sha, branch: name, tag: null };
}

/** Author, committer and message of one commit, as Buddy reports them. Dates are ISO 8601 UTC. */
export interface CommitInfo {
  revision: string;
  authorName: string;
  authorEmail: string;
  authorDate: string;
  committerName: string;
  committerEmail: string;
  commitDate: string;
  message: string;
}

/** Checks a SHA argument and returns its full commit SHA, or throws RevisionNotFoundError. */
async function requireCommit(dir: string, sha: string): Promise<string> {
  if (!SHA_PATTERN.test(sha)) throw new InvalidRefError(`${JSON.stringify(sha)} is not a commit SHA`);
  const full = await shaCommit(dir, sha);
  if (!full) throw notFound('revision', sha);
  return full;
}

/** Git's strict ISO date (with the author's offset) as "YYYY-MM-DDTHH:MM:SSZ". */
function isoUtc(gitDate: string): string {
  return new Date(gitDate).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Reads commit metadata; fields are NUL-separated because names and messages may contain anything else. */
export async function commitInfo(mirrorPath: string, sha: string): Promise<CommitInfo> {
  const dir = path.resolve(mirrorPath);
  return readCommitInfo(dir, await requireCommit(dir, sha));
}

/** Commit metadata of `fullSha`, which the caller knows to be a commit of the repository (one git call). */
export async function readCommitInfo(mirrorPath: string, fullSha: string): Promise<CommitInfo> {
  const { stdout } = await runGit([
    '-c',
    'log.showSignature=false',
    '--git-dir',
    path.resolve(mirrorPath),
    'show',
    '--no-patch',
    '--no-color',
    '--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B',
    '--end-of-options',
    fullSha,
  ]);
  const [revision = fullSha, authorName = '', authorEmail = '', authorDate = '', ...rest] =
    stdout.split('\0');
  const [committerName = '', committerEmail = '', commitDate = '', ...message] = rest;
  return {
    revision,
    authorName,
    authorEmail,
    authorDate: isoUtc(authorDate),
    committerName,
    committerEmail,
    commitDate: isoUtc(commitDate),
    message: message.join('\0').replace(/\n+$/, ''),
  };
}

/** Paths changed between two commits (every file of `toSha` when `fromSha` is null), as git names them. */
export async function changedPaths(
  mirrorPath: string,
  fromSha: string | null,
  toSha: string,
): Promise<string[]> {
  const dir = path.resolve(mirrorPath);
  const to = await requireCommit(dir, toSha);
  const args =
    fromSha === null
      ? ['ls-tree', '-r', '-z', '--name-only', '--end-of-options', to]
      : ['diff-tree', '-r', '-z', '--name-only', '--no-renames', await requireCommit(dir, fromSha), to];
  const { stdout } = await runGit(['--git-dir', dir, ...args]);
  return stdout.split('\0').filter((p) => p !== '');
}
