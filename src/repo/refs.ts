import { RepositoryError } from './git-cli.ts';

/** A user-supplied branch, tag or revision is malformed (it is refused before git sees it). */
export class InvalidRefError extends RepositoryError {}

/** The requested revision, branch or tag does not exist in the repository. */
export class RevisionNotFoundError extends RepositoryError {
  constructor(
    message: string,
    /** What was looked up. */
    readonly kind: 'revision' | 'branch' | 'tag',
    /** The value as the user gave it. */
    readonly value: string,
  ) {
    super(message);
  }
}

/** The repository has no commits yet, so there is nothing to run on. */
export class EmptyRepositoryError extends RepositoryError {
  constructor() {
    super('the repository is empty: push a commit first');
  }
}

const FORBIDDEN_CHARS = /[\x00-\x20\x7f~^:?*[\\]/;

/**
 * Why `name` is not a valid branch or tag name (git check-ref-format rules for `refs/heads/<name>`,
 * plus no leading "-" so it can never be taken for an option), or null when it is fine.
 */
export function refNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.length > 1024) return 'is too long';
  if (name.startsWith('-')) return 'must not start with "-"';
  if (FORBIDDEN_CHARS.test(name)) return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'must not contain ".."';
  if (name.includes('@{')) return 'must not contain "@{"';
  if (name === '@') return 'must not be "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.endsWith('.')) return 'must not end with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'has a component starting with "."';
    if (part.endsWith('.lock')) return 'has a component ending with ".lock"';
  }
  return null;
}

/** Throws InvalidRefError unless `name` is a valid branch/tag name. */
export function assertRefName(kind: 'branch' | 'tag', name: string): void {
  const problem = refNameProblem(name);
  if (problem) throw new InvalidRefError(`${kind} name ${JSON.stringify(name)} ${problem}`);
}

/** A full or abbreviated object name: git needs at least 4 hex digits; 64 allows SHA-256 repositories. */
export const SHA_PATTERN = /^[0-9a-f]{4,64}$/i;

/**
 * Throws unless `revision` is "HEAD" or looks like a (possibly abbreviated) SHA. Syntactically bad
 * input (options, control characters, "..") is an InvalidRefError; any other non-SHA text cannot
 * name a commit in Buddy's API, so it is reported as not found.
 */
export function assertRevision(revision: string): void {
  if (revision === 'HEAD' || SHA_PATTERN.test(revision)) return;

  if (revision.startsWith('-') || /[\x00-\x1f\x7f]/.test(revision) || revision.includes('..')) {
    throw new InvalidRefError(`revision ${JSON.stringify(revision)} is not a commit SHA`);
  }
  throw new RevisionNotFoundError(
    `revision ${JSON.stringify(revision)} not found in the repository`,
    'revision',
    revision,
  );
}
