import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  changedPaths,
  commitInfo,
  createHostedRepository,
  defaultBranch,
  syncMirror,
  resolveRevision,
  runGit,
  type CommitInfo,
  type ResolvedRevision,
  type RevisionRequest,
} from '../repo/index.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { ProjectRow } from '../store/schema.ts';

/**
 * Where each project's repositories live in the data directory, by project id so that renaming a
 * workspace or project never moves them: hosted bare repositories under `repos/`, fetch mirrors of
 * every source under `mirrors/`.
 */
export class ProjectRepositories {
  /** One fetch per project at a time; concurrent executions share the result. */
  private readonly syncing = new Map<number, Promise<void>>();

  constructor(
    private readonly dataDir: string,
    private readonly secrets: SecretBox,
  ) {}

  get hostedRoot(): string {
    return path.join(this.dataDir, 'repos');
  }

  hostedPath(projectId: number): string {
    return path.join(this.hostedRoot, `${projectId}.git`);
  }

  mirrorPath(projectId: number): string {
    return path.join(this.dataDir, 'mirrors', `${projectId}.git`);
  }

  async createHosted(projectId: number): Promise<void> {
    await createHostedRepository(this.hostedPath(projectId));
  }

  async forget(projectIds: readonly number[]): Promise<void> {
    for (const id of projectIds) {
      await rm(this.hostedPath(id), { recursive: true, force: true });
      await rm(this.mirrorPath(id), { recursive: true, force: true });
    }
  }

  /** Fetches the project's source into its mirror and returns the mirror's path. */
  async sync(project: ProjectRow): Promise<string> {
    const running = this.syncing.get(project.id);
    if (running) {
      await running;
      return this.mirrorPath(project.id);
    }
    const job = syncMirror({
      mirrorPath: this.mirrorPath(project.id),
      sourceUrl: project.custom_repo_url ?? this.hostedPath(project.id),
      user: project.custom_repo_user ?? undefined,
      pass: project.custom_repo_pass ? this.secrets.open(project.custom_repo_pass) : undefined,
    });
    this.syncing.set(project.id, job);
    try {
      await job;
    } finally {
      this.syncing.delete(project.id);
    }
    return this.mirrorPath(project.id);
  }

  /**
   * The mirror, fetched only when it lacks `sha`: the run request fetched moments ago, so a second
   * fetch before the checkout would cost a network round trip for nothing (a retry of an old run, or a
   * fresh data directory, still fetches).
   */
  async mirrorWith(project: ProjectRow, sha: string): Promise<string> {
    const mirror = this.mirrorPath(project.id);
    const { exitCode } = await runGit(['--git-dir', mirror, 'cat-file', '-e', `${sha}^{commit}`], {
      okCodes: [1, 128],
    }).catch(() => ({ exitCode: 1 }));
    return exitCode === 0 ? mirror : this.sync(project);
  }

  async resolve(
    project: ProjectRow,
    request: RevisionRequest,
    fallbackBranch: string | null,
  ): Promise<ResolvedRevision> {
    const mirror = this.mirrorPath(project.id);
    const branch = fallbackBranch ?? project.default_branch ?? (await defaultBranch(mirror)) ?? 'master';
    return resolveRevision(mirror, request, branch);
  }

  commit(projectId: number, sha: string): Promise<CommitInfo> {
    return commitInfo(this.mirrorPath(projectId), sha);
  }

  changes(projectId: number, from: string | null, to: string): Promise<string[]> {
    return changedPaths(this.mirrorPath(projectId), from, to);
  }

  defaultBranch(projectId: number): Promise<string | null> {
    return defaultBranch(this.mirrorPath(projectId));
  }
}
