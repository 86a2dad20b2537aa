import { chmodSync, mkdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { confinePath } from '../domain/paths.ts';
import {
  PathEscapeError,
  pinDirectory,
  pinEntry,
  type PinnedDirectory,
  type PinnedEntry,
} from './pinned-path.ts';

export { PathEscapeError };

/**
 * The persistent directory of one pipeline: `fs/` holds the checkout plus whatever earlier actions and
 * runs left there; `index` is git's record of the last checkout; `cache/` is emptied by clear_cache;
 * `private/` (0700, never mounted) holds files Gantry stages on the same filesystem as `fs/`.
 */
export class PipelineFilesystem {
  readonly root: string;
  readonly workTree: string;
  readonly indexFile: string;
  readonly cacheDir: string;
  readonly privateDir: string;

  constructor(
    dataDir: string,
    readonly pipelineId: number,
  ) {
    this.root = path.join(dataDir, 'pipelines', String(pipelineId));
    this.workTree = path.join(this.root, 'fs');
    this.indexFile = path.join(this.root, 'index');
    this.cacheDir = path.join(this.root, 'cache');
    this.privateDir = path.join(this.root, 'private');
  }

  /**
   * Creates the directories. Synchronous calls: on every run they find the directories there, and one
   * system call each is cheaper than a trip through the thread pool each (measured before the first
   * container of every run on a busy machine).
   */
  ensure(): void {
    mkdirSync(this.workTree, { recursive: true });
    // Actions may run as any user (run_as_user), so the work tree itself is writable by every uid in a
    // container. On the host nobody but Gantry may reach it: the pipelines directory and the pipeline's
    // own are 0700, so a setuid file an action left there cannot be run (or read) by another host user,
    // whatever its mode. The kernel checks this on every path lookup; containers get the work tree as a
    // mount and never traverse these directories. (Modes are set on every run: older data directories
    // had 0755 here.)
    chmodSync(path.dirname(this.root), 0o700);
    chmodSync(this.root, 0o700);
    chmodSync(this.workTree, 0o777);
    mkdirSync(this.cacheDir, { recursive: true });
    mkdirSync(this.privateDir, { recursive: true, mode: 0o700 });
  }

  async clearCache(): Promise<void> {
    await rm(this.cacheDir, { recursive: true, force: true });
    await mkdir(this.cacheDir, { recursive: true });
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /**
   * Pins the directory `userPath` of the work tree (see pinned-path.ts): symbolic links are followed only
   * while they stay inside, so a link in the repository (`etc -> /etc`) or one a running container swaps in
   * cannot make a mount reach the host. `create` makes missing directories. The caller closes it.
   */
  pinDirectory(userPath: string, options: { create?: boolean } = {}): PinnedDirectory {
    this.checkLexically(userPath);
    return pinDirectory(this.workTree, userPath, options);
  }

  /** Pins the directory holding `userPath` and returns it with the last component. The caller closes `dir`. */
  pinEntry(userPath: string, options: { createParents?: boolean } = {}): PinnedEntry {
    this.checkLexically(userPath);
    return pinEntry(this.workTree, userPath, options);
  }

  private checkLexically(userPath: string): void {
    if (confinePath(this.workTree, userPath) === null)
      throw new PathEscapeError(`path "${userPath}" leaves the pipeline filesystem`);
  }
}
