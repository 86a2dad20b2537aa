import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gitEnv, RepositoryError, runGit } from './git-cli.ts';

/** One entry of a tree, as Buddy's repository contents API lists it. */
export interface TreeEntry {
  type: 'FILE' | 'DIR' | 'SYMLINK' | 'SUB_MODULE';
  name: string;
  /** Path from the repository root, without a leading slash. */
  path: string;
  size: number;
  sha: string;
}

export class ContentsError extends RepositoryError {
  constructor(
    readonly kind: 'not-found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A path inside the repository as git stores it: no leading or trailing slash, no empty, `.` or `..`
 * segments, no `.git` segment (git refuses those in trees, and they would confuse a checkout).
 */
export function repositoryPath(raw: string): string {
  const trimmed = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.toLowerCase() === '.git' || /[\0\n\r]/.test(s))
      throw new ContentsError('invalid', `path "${raw}" is not a path inside the repository`);
  }
  return trimmed;
}

function gitDirArgs(gitDir: string): string[] {
  return ['--git-dir', path.resolve(gitDir)];
}

/** The commit `revision` (a branch, tag or SHA) names, or null when it names none. */
export async function resolveCommit(gitDir: string, revision: string): Promise<string | null> {
  if (revision.startsWith('-')) return null;
  const { stdout, exitCode } = await runGit(
    [...gitDirArgs(gitDir), 'rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`],
    { okCodes: [1, 128] },
  );
  return exitCode === 0 ? stdout.trim() : null;
}

/** The repository's default branch (where HEAD points), e.g. `master`. */
export async function defaultBranch(gitDir: string): Promise<string> {
  const { stdout, exitCode } = await runGit([...gitDirArgs(gitDir), 'symbolic-ref', '--short', 'HEAD'], {
    okCodes: [1, 128],
  });
  return exitCode === 0 && stdout.trim() ? stdout.trim() : 'master';
}

const TYPES: Record<string, TreeEntry['type']> = { blob: 'FILE', tree: 'DIR', commit: 'SUB_MODULE' };

function parseTree(stdout: string): TreeEntry[] {
  return stdout
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode = '', type = '', sha = '', size = '-'] = line.slice(0, tab).split(/\s+/);
      const full = line.slice(tab + 1);
      return {
        type: mode === '120000' ? 'SYMLINK' : (TYPES[type] ?? 'FILE'),
        name: full.split('/').pop() ?? full,
        path: full,
        size: size === '-' ? 0 : Number(size),
        sha,
      };
    });
}

/** The entry at `filePath` in `commit`, or null; the root is a DIR with an empty path. */
export async function entryAt(gitDir: string, commit: string, filePath: string): Promise<TreeEntry | null> {
  if (filePath === '') return { type: 'DIR', name: '', path: '', size: 0, sha: commit };
  const { stdout } = await runGit([
    ...gitDirArgs(gitDir),
    'ls-tree',
    '-z',
    '-l',
    '--full-tree',
    commit,
    '--',
    filePath,
  ]);
  return parseTree(stdout).find((e) => e.path === filePath) ?? null;
}

/** The entries of the directory `dirPath` in `commit`. */
export async function listDirectory(gitDir: string, commit: string, dirPath: string): Promise<TreeEntry[]> {
  const { stdout } = await runGit([
    ...gitDirArgs(gitDir),
    'ls-tree',
    '-z',
    '-l',
    '--full-tree',
    commit,
    '--',
    dirPath === '' ? '.' : `${dirPath}/`,
  ]);
  return parseTree(stdout);
}

/** The bytes of a blob. */
export function readBlob(gitDir: string, sha: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...gitDirArgs(gitDir), 'cat-file', 'blob', sha],
      { env: gitEnv(), encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => (err ? reject(new RepositoryError(`reading ${sha} failed`)) : resolve(stdout)),
    );
  });
}

export interface CommitRequest {
  branch: string;
  message: string;
  author: { name: string; email: string };
  /** The file to write (content) or remove (null). */
  path: string;
  content: Buffer | null;
  /** What the file must be for the change to make sense: absent for a create, present otherwise. */
  expect: 'absent' | 'present';
}

/**
 * Commits one file change on `branch` without a work tree (a temporary index over the branch's tree)
 * and moves the branch only if nobody moved it meanwhile. Returns the new commit.
 */
export async function commitFile(gitDir: string, req: CommitRequest): Promise<string> {
  const ref = `refs/heads/${req.branch}`;
  const check = await runGit([...gitDirArgs(gitDir), 'check-ref-format', ref], { okCodes: [1] });
  if (check.exitCode !== 0) throw new ContentsError('invalid', `"${req.branch}" is not a branch name`);
  const parent = await resolveCommit(gitDir, ref);
  const existing = parent ? await entryAt(gitDir, parent, req.path) : null;
  if (req.expect === 'absent' && existing)
    throw new ContentsError('conflict', `"${req.path}" already exists on ${req.branch}; update it with PUT`);
  if (req.expect === 'present' && (!existing || existing.type === 'DIR' || existing.type === 'SUB_MODULE'))
    throw new ContentsError('not-found', `file "${req.path}" not found on ${req.branch}`);
  const work = await mkdtemp(path.join(tmpdir(), 'gantry-contents-'));
  const env = {
    GIT_INDEX_FILE: path.join(work, 'index'),
    GIT_AUTHOR_NAME: req.author.name,
    GIT_AUTHOR_EMAIL: req.author.email,
    GIT_COMMITTER_NAME: req.author.name,
    GIT_COMMITTER_EMAIL: req.author.email,
  };
  try {
    const git = (args: string[]) => runGit([...gitDirArgs(gitDir), ...args], { env });
    if (parent) await git(['read-tree', parent]);
    if (req.content === null) {
      // update-index wants a work tree even for an index-only removal; an empty one is never read.
      const empty = path.join(work, 'tree');
      await mkdir(empty);
      await git(['--work-tree', empty, 'update-index', '--force-remove', '--', req.path]);
    } else {
      const file = path.join(work, 'content');
      await writeFile(file, req.content);
      const blob = (await git(['hash-object', '-w', '--', file])).stdout.trim();
      // A path that runs through an existing file, or a file where a directory is, is refused by git.
      const added = await runGit(
        [...gitDirArgs(gitDir), 'update-index', '--add', '--cacheinfo', `100644,${blob},${req.path}`],
        { env, okCodes: [128] },
      );
      if (added.exitCode !== 0)
        throw new ContentsError(
          'conflict',
          `"${req.path}" clashes with a file or directory of the same name`,
        );
    }
    const tree = (await git(['write-tree'])).stdout.trim();
    const commit = (
      await git(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', req.message])
    ).stdout.trim();
    const moved = await runGit(
      [...gitDirArgs(gitDir), 'update-ref', '-m', 'repository contents API', ref, commit, parent ?? ''],
      { okCodes: [128] },
    );
    if (moved.exitCode !== 0)
      throw new ContentsError('conflict', `${req.branch} changed meanwhile; send the change again`);
    return commit;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
