/**
 * The repo/ subsystem: project repositories (hosted bare repositories, per-project mirrors, revision
 * resolution, commit metadata, checkouts into pipeline filesystems) and git's smart HTTP protocol for
 * hosted repositories, all through the git CLI.
 */
export { GitCommandError, RepositoryError, runGit, scrub } from './git-cli.ts';
export type { GitResult, RunGitOptions } from './git-cli.ts';
export {
  EmptyRepositoryError,
  InvalidRefError,
  RevisionNotFoundError,
  assertRefName,
  refNameProblem,
} from './refs.ts';
export {
  branchNames,
  createHostedRepository,
  defaultBranch,
  deleteRepository,
  listRefs,
  syncMirror,
} from './project-repository.ts';
export type { SyncMirrorOptions, SyncResult } from './project-repository.ts';
export { changedPaths, commitInfo, gitLookup, readCommitInfo, resolveRevision } from './revisions.ts';
export type { CommitInfo, ResolvedRevision, RevisionLookup, RevisionRequest } from './revisions.ts';
export { readRefSnapshot, snapshotLookup } from './ref-snapshot.ts';
export type { RefSnapshot } from './ref-snapshot.ts';
export { checkout } from './checkout.ts';
export type { CheckoutOptions } from './checkout.ts';
export { handleGitHttp, isPushRequest, isSafePathInfo } from './hosted-http.ts';
export type { GitHttpOptions } from './hosted-http.ts';
