import path from 'node:path';
import { runGit } from './git-cli.ts';
import { headBranch, pickDefaultBranch } from './project-repository.ts';
import type { RevisionLookup } from './revisions.ts';

/**
 * Every branch and tag of a repository at one moment, read with one git command, so that resolving
 * a run's revision needs no git at all while the repository has not changed. Whoever holds a
 * snapshot must replace it when the repository changes (ProjectRepositories does, on every sync).
 */
export interface RefSnapshot {
  /** Full ref name (refs/heads/..., refs/tags/...) → the object it names, unpeeled (as git advertises it). */
  objects: ReadonlyMap<string, string>;
  /**
   * Full ref name → the commit it names after peeling one annotated tag; null when that is not a
   * commit (a tag of a tree, a tag of a tag), which only git can answer.
   */
  commits: ReadonlyMap<string, string | null>;
  /** The branch HEAD points at ("" when HEAD is detached or missing). */
  head: string;
}

/** Reads the branches, tags and HEAD of the bare repository at `gitDir`. */
export async function readRefSnapshot(gitDir: string): Promise<RefSnapshot> {
  const dir = path.resolve(gitDir);
  const { stdout } = await runGit([
    '--git-dir',
    dir,
    'for-each-ref',
    '--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)',
    'refs/heads',
    'refs/tags',
  ]);
  const objects = new Map<string, string>();
  const commits = new Map<string, string | null>();
  for (const line of stdout.split('\n')) {
    // Ref names cannot contain spaces, so the name is everything after the fourth space.
    const match = /^([0-9a-f]+) (\w+) ([0-9a-f]*) (\w*) (refs\/\S+)$/.exec(line);
    if (!match) continue;
    const [, oid, type, peeledOid, peeledType, name] = match as unknown as string[];
    objects.set(name!, oid!);
    if (type === 'commit') commits.set(name!, oid!);
    else if (type === 'tag' && peeledType === 'commit') commits.set(name!, peeledOid!);
    else commits.set(name!, null);
  }
  return { objects, commits, head: await headBranch(dir) };
}

/**
 * Answers revision lookups from `snapshot`, falling back to `git` for whatever the snapshot cannot
 * answer exactly: a ref it does not list (git's ref lookup has rules beyond the exact name, and the
 * answer "not found" should stay git's), a ref that is not a plain commit, an abbreviated SHA (which
 * may be ambiguous in the repository), and a full SHA that is not known to be a commit.
 * `knownCommit` says whether a full SHA is already known to be a commit of the repository.
 */
export function snapshotLookup(
  snapshot: RefSnapshot,
  git: RevisionLookup,
  knownCommit: (sha: string) => boolean,
): RevisionLookup {
  const tips = new Set<string>();
  for (const sha of snapshot.commits.values()) if (sha) tips.add(sha);
  return {
    hasAnyRef: () => Promise.resolve(snapshot.objects.size > 0),
    refCommit: (ref) => {
      const sha = snapshot.commits.get(ref);
      return sha ? Promise.resolve(sha) : git.refCommit(ref);
    },
    shaCommit: (sha) => {
      const lower = sha.toLowerCase();
      const full = lower.length === 40 || lower.length === 64;
      return full && (tips.has(lower) || knownCommit(lower)) ? Promise.resolve(lower) : git.shaCommit(sha);
    },
    defaultBranch: () => {
      const branches = [...snapshot.objects.keys()]
        .filter((name) => name.startsWith('refs/heads/'))
        .map((name) => name.slice('refs/heads/'.length));
      return Promise.resolve(pickDefaultBranch(branches, snapshot.head));
    },
  };
}
