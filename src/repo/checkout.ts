import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { RepositoryError, runGit } from './git-cli.ts';
import { InvalidRefError, RevisionNotFoundError, SHA_PATTERN } from './refs.ts';

export interface CheckoutOptions {
  /** The project's bare mirror (read only here). */
  mirrorPath: string;
  /** Commit to materialise; resolve it with resolveRevision first. */
  sha: string;
  /** The pipeline filesystem. It never gets a .git directory. */
  workTree: string;
  /**
   * The pipeline's own index file, kept outside the work tree. It remembers what the previous
   * checkout wrote, which is how files deleted between revisions are found and removed.
   */
  indexFile: string;
  /** Empty the work tree and forget the index first, for a fresh checkout. */
  clean: boolean;
  /**
   * How a clean checkout empties the work tree. The engine passes a descriptor-based one (containers may
   * be swapping directories for links in it); the default removes by name and suits trees no container
   * reaches.
   */
  emptyWorkTree?: () => Promise<void>;
  signal?: AbortSignal | undefined;
}

/**
 * Empties `dir` without following symlinks: fs.rm lstat()s each entry and removes a link itself, never
 * what it points to, so a repository symlink to /etc only loses the link.
 */
async function emptyDirectory(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * Materialises commit `sha` into `workTree`, the way Buddy keeps a pipeline filesystem between runs:
 * tracked files are brought to the revision (local edits overwritten), files the previous checkout
 * wrote that the revision no longer has are deleted, and untracked files stay.
 *
 * This is `git read-tree --reset -u` with the mirror as git dir, the work tree and index given
 * explicitly: a one-way merge from the old index to the commit's tree. It writes only the index and
 * the work tree, never the mirror's HEAD or refs, so pipelines can check out from one mirror at once.
 */
export async function checkout(opts: CheckoutOptions): Promise<void> {
  if (!SHA_PATTERN.test(opts.sha))
    throw new InvalidRefError(`${JSON.stringify(opts.sha)} is not a commit SHA`);
  const gitDir = path.resolve(opts.mirrorPath);
  const workTree = path.resolve(opts.workTree);
  const indexFile = path.resolve(opts.indexFile);
  const relative = path.relative(workTree, indexFile);
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
    // Inside the work tree the index would be visible to actions and deleted by a clean checkout.
    throw new RepositoryError('the index file must be outside the work tree');
  }

  // Synchronous: they are there on every run but the first, and a thread-pool trip each costs more.
  mkdirSync(workTree, { recursive: true });
  mkdirSync(path.dirname(indexFile), { recursive: true });
  const base = ['--git-dir', gitDir, '--work-tree', workTree];
  const run = { env: { GIT_INDEX_FILE: indexFile }, signal: opts.signal };
  const missing = async (): Promise<RevisionNotFoundError | null> => {
    const { exitCode } = await runGit([...base, 'cat-file', '-e', `${opts.sha}^{commit}`], {
      ...run,
      okCodes: [1, 128],
    });
    return exitCode === 0
      ? null
      : new RevisionNotFoundError(`revision "${opts.sha}" not found in the repository`, 'revision', opts.sha);
  };
  if (opts.clean) {
    // Only once the commit is known to exist: a typo must not wipe the pipeline filesystem.
    const notFound = await missing();
    if (notFound) throw notFound;
    await rm(indexFile, { force: true });
    await (opts.emptyWorkTree ?? (() => emptyDirectory(workTree)))();
  }
  try {
    await runGit([...base, 'read-tree', '--reset', '-u', `${opts.sha}^{commit}`], run);
  } catch (err) {
    // read-tree fails before it touches the work tree when the commit does not exist; asking why
    // only then saves a git process on every checkout.
    throw (opts.clean ? null : await missing().catch(() => null)) ?? err;
  }
}
