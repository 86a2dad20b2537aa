import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  changedPaths,
  commitInfo,
  createHostedRepository,
  gitLookup,
  RepositoryError,
  readCommitInfo,
  readRefSnapshot,
  listRefs,
  resolveRevision,
  runGit,
  snapshotLookup,
  syncMirror,
  type CommitInfo,
  type RefSnapshot,
  type ResolvedRevision,
  type RevisionRequest,
} from '../repo/index.ts';
import { checkRepositoryUrl, type RepositoryUrlPolicy } from '../repo/url-policy.ts';
import type { SecretBox } from '../secrets/cipher.ts';
import type { ProjectRow } from '../store/schema.ts';

/** Commit metadata and changesets kept per project; both never change for given SHAs. */
const COMMITS_KEPT = 500;
const CHANGESETS_KEPT = 100;

/** A Map used as a bounded cache: the oldest entry goes when a new one would exceed `limit`. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, limit: number): V {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as K);
  return value;
}

/**
 * Runs at most one job at a time; a caller arriving while a job waits to start shares it (it starts
 * after the caller arrived, so it sees everything the caller could have seen), while one arriving
 * after a job started gets a new job run after it.
 */
class FreshJobs {
  /** The job running now, if any. */
  current: Promise<void> | null = null;
  private waiting: Promise<void> | null = null;

  run(job: () => Promise<void>): Promise<void> {
    if (this.waiting) return this.waiting;
    const before = this.current ?? Promise.resolve();
    const next: Promise<void> = before
      .catch(() => undefined)
      .then(() => {
        this.waiting = null;
        this.current = next;
        return job();
      })
      .finally(() => {
        if (this.current === next) this.current = null;
      });
    this.waiting = next;
    return next;
  }
}

/** What the server knows about one project's mirror. */
interface RepositoryState {
  /** The source the snapshot was read from (URL and user): a changed source invalidates everything. */
  source: string;
  /** The mirror's refs after the last sync, or null before the first. */
  refs: RefSnapshot | null;
  /** Counts changes of a hosted source the server saw (each push bumps it when it starts and ends). */
  generation: number;
  /** The generation the snapshot reflects (taken when its sync started). */
  syncedGeneration: number;
  /** Pushes to the hosted source still in progress. */
  pushing: number;
  syncs: FreshJobs;
  /** Full SHA → metadata, for commits known to exist in the mirror. */
  commits: Map<string, CommitInfo>;
  /** "from..to" → changed paths. */
  changes: Map<string, string[]>;
}

/**
 * Where each project's repositories live in the data directory, by project id so that renaming a
 * workspace or project never moves them: hosted bare repositories under `repos/`, fetch mirrors of
 * every source under `mirrors/`.
 *
 * It also keeps, per project, the mirror's refs and the metadata of commits already read, so that
 * accepting a run costs no git process while nothing changed. A hosted repository changes only
 * through pushes, which the server handles itself (pushStarted): until a push has ended and a sync
 * after it has run, the refs count as unknown, so HEAD or a branch is never resolved to a revision
 * older than a completed push. Any other source is asked for its refs (one `ls-remote`) on every
 * sync, as the server cannot know when it changed; the fetch and the reading of refs still happen
 * only when something changed.
 */
export class ProjectRepositories {
  private readonly states = new Map<number, RepositoryState>();
  /** Pushes to one hosted repository are taken one at a time, so each sees exactly its own ref changes. */
  private readonly receiving = new Map<number, Promise<unknown>>();

  constructor(
    private readonly dataDir: string,
    private readonly secrets: SecretBox,
    /** What custom_repo_url may reach; checked again before every fetch (settings and DNS change). */
    private readonly urlPolicy: RepositoryUrlPolicy = { dataDir, allowedRoots: [], allowedHosts: [] },
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
    this.states.delete(projectId);
    await createHostedRepository(this.hostedPath(projectId));
  }

  async forget(projectIds: readonly number[]): Promise<void> {
    for (const id of projectIds) {
      this.states.delete(id);
      await rm(this.hostedPath(id), { recursive: true, force: true });
      await rm(this.mirrorPath(id), { recursive: true, force: true });
    }
  }

  /** Branches and tags of the project's hosted repository with their revisions. */
  hostedRefs(projectId: number): Promise<Map<string, string>> {
    return listRefs(this.hostedPath(projectId));
  }

  /** Refs of the project's mirror (an external repository as last fetched). */
  mirrorRefs(projectId: number): Promise<Map<string, string>> {
    return listRefs(this.mirrorPath(projectId));
  }

  /**
   * Runs `receive` (one push into the hosted repository) after any push to the same project still
   * in progress, and returns the refs before and after it.
   */
  async receivePush(
    projectId: number,
    receive: () => Promise<void>,
  ): Promise<{ before: Map<string, string>; after: Map<string, string> }> {
    const previous = this.receiving.get(projectId) ?? Promise.resolve();
    const job = previous
      .catch(() => undefined)
      .then(async () => {
        const before = await this.hostedRefs(projectId);
        await receive();
        return { before, after: await this.hostedRefs(projectId) };
      });
    this.receiving.set(projectId, job);
    try {
      return await job;
    } finally {
      if (this.receiving.get(projectId) === job) this.receiving.delete(projectId);
    }
  }

  private state(projectId: number): RepositoryState {
    let state = this.states.get(projectId);
    if (!state) {
      state = {
        source: '',
        refs: null,
        generation: 0,
        syncedGeneration: -1,
        pushing: 0,
        syncs: new FreshJobs(),
        commits: new Map(),
        changes: new Map(),
      };
      this.states.set(projectId, state);
    }
    return state;
  }

  private sourceOf(project: ProjectRow): { url: string; key: string } {
    const url = project.custom_repo_url ?? this.hostedPath(project.id);
    return { url, key: `${url}\n${project.custom_repo_user ?? ''}` };
  }

  /**
   * A push to the project's hosted repository begins; call the returned function once it has ended
   * (before its response is finished, so that a client that saw the push complete never gets older
   * refs). Until then every sync reads the refs again.
   */
  pushStarted(projectId: number): () => void {
    const state = this.state(projectId);
    state.pushing += 1;
    state.generation += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      state.pushing -= 1;
      state.generation += 1;
    };
  }

  /**
   * Brings the project's mirror up to date with its source and returns the mirror's path. Free when
   * the source is a hosted repository that has not been pushed to since the last sync.
   */
  async sync(project: ProjectRow): Promise<string> {
    const state = this.state(project.id);
    const source = this.sourceOf(project);
    const hosted = project.custom_repo_url === null;
    const fresh = (): boolean =>
      hosted &&
      state.refs !== null &&
      state.source === source.key &&
      state.pushing === 0 &&
      state.syncedGeneration === state.generation;
    if (hosted && !fresh() && state.syncs.current) {
      // A sync that started after the last push ended (e.g. the one the push itself set off) will do.
      await state.syncs.current.catch(() => undefined);
    }
    if (!fresh()) await state.syncs.run(() => this.syncNow(project, state));
    return this.mirrorPath(project.id);
  }

  private async syncNow(project: ProjectRow, state: RepositoryState): Promise<void> {
    const source = this.sourceOf(project);
    const generation = state.generation;
    const mirror = this.mirrorPath(project.id);
    const known = state.source === source.key ? state.refs : null;
    let refs: RefSnapshot;
    try {
      let sourceUrl = source.url;
      let gitConfig: string[] = [];
      if (project.custom_repo_url !== null) {
        const checked = await checkRepositoryUrl(project.custom_repo_url, this.urlPolicy, { strict: true });
        if (typeof checked === 'string') throw new RepositoryError(checked);
        ({ gitUrl: sourceUrl, gitConfig } = checked);
      }
      const { changed } = await syncMirror({
        mirrorPath: mirror,
        sourceUrl,
        gitConfig,
        user: project.custom_repo_user ?? undefined,
        pass: project.custom_repo_pass ? this.secrets.open(project.custom_repo_pass) : undefined,
        mirrorRefs: known?.objects,
      });
      refs = changed || !known ? await readRefSnapshot(mirror) : known;
    } catch (err) {
      // A failed fetch may have moved some refs: read them all again next time.
      state.refs = null;
      throw err;
    }
    if (state.source !== source.key) {
      // Another repository: what was read from the old one says nothing about the new one.
      state.commits.clear();
      state.changes.clear();
    }
    state.source = source.key;
    state.refs = refs;
    state.syncedGeneration = generation;
  }

  /**
   * The mirror, fetched only when it lacks `sha`: the run request fetched moments ago, so a second
   * fetch before the checkout would cost a network round trip for nothing (a retry of an old run, or a
   * fresh data directory, still fetches).
   */
  async mirrorWith(project: ProjectRow, sha: string): Promise<string> {
    const mirror = this.mirrorPath(project.id);
    // A branch or tag of the mirror (the usual case: the run request resolved it moments ago) is
    // reachable, so present; no git needed.
    const state = this.states.get(project.id);
    const refs = state?.source === this.sourceOf(project).key ? state.refs : null;
    if (refs && [...refs.commits.values()].includes(sha.toLowerCase())) return mirror;
    const { exitCode } = await runGit(['--git-dir', mirror, 'cat-file', '-e', `${sha}^{commit}`], {
      okCodes: [1, 128],
    }).catch(() => ({ exitCode: 1 }));
    return exitCode === 0 ? mirror : this.sync(project);
  }

  /**
   * Resolves a run's revision in the mirror, from the refs the last sync read where they answer
   * exactly and with git otherwise.
   */
  async resolve(
    project: ProjectRow,
    request: RevisionRequest,
    fallbackBranch: string | null,
  ): Promise<ResolvedRevision> {
    const state = this.state(project.id);
    const mirror = this.mirrorPath(project.id);
    const git = gitLookup(mirror);
    const lookup =
      state.refs && state.source === this.sourceOf(project).key
        ? snapshotLookup(state.refs, git, (sha) => state.commits.has(sha))
        : git;
    const branch = fallbackBranch ?? project.default_branch ?? (await lookup.defaultBranch()) ?? 'master';
    return resolveRevision(lookup, request, branch);
  }

  /** Metadata of commit `sha` (full or abbreviated); read once per commit. */
  async commit(projectId: number, sha: string): Promise<CommitInfo> {
    const state = this.state(projectId);
    const lower = sha.toLowerCase();
    const cached = state.commits.get(lower);
    if (cached) return cached;
    const mirror = this.mirrorPath(projectId);
    // A ref tip is known to be a commit of the mirror: one git call instead of three.
    const isTip = state.refs !== null && [...state.refs.commits.values()].includes(lower);
    const info = isTip ? await readCommitInfo(mirror, lower) : await commitInfo(mirror, sha);
    return remember(state.commits, info.revision, info, COMMITS_KEPT);
  }

  /** Paths changed between two commits (every file of `to` when `from` is null); computed once per pair. */
  async changes(projectId: number, from: string | null, to: string): Promise<string[]> {
    const state = this.state(projectId);
    const key = `${from ?? ''}..${to}`.toLowerCase();
    const full = /^(?:[0-9a-f]{40}|[0-9a-f]{64})?\.\.(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(key);
    const cached = full ? state.changes.get(key) : undefined;
    if (cached) return cached;
    // A run of the revision the last successful one ran changes nothing: no git needed.
    if (full && from !== null && from.toLowerCase() === to.toLowerCase()) return [];
    const paths = await changedPaths(this.mirrorPath(projectId), from, to);
    return full ? remember(state.changes, key, paths, CHANGESETS_KEPT) : paths;
  }

  defaultBranch(projectId: number): Promise<string | null> {
    return gitLookup(this.mirrorPath(projectId)).defaultBranch();
  }
}
