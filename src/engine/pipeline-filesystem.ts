import { chmod, lstat, mkdir, readlink, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { confinePath } from '../domain/paths.ts';

/** A user path that would reach the host outside the pipeline filesystem. */
export class PathEscapeError extends Error {}

/**
 * The persistent directory of one pipeline: `fs/` holds the checkout plus whatever earlier actions and
 * runs left there; `index` is git's record of the last checkout; `cache/` is emptied by clear_cache.
 */
export class PipelineFilesystem {
  readonly root: string;
  readonly workTree: string;
  readonly indexFile: string;
  readonly cacheDir: string;

  constructor(
    dataDir: string,
    readonly pipelineId: number,
  ) {
    this.root = path.join(dataDir, 'pipelines', String(pipelineId));
    this.workTree = path.join(this.root, 'fs');
    this.indexFile = path.join(this.root, 'index');
    this.cacheDir = path.join(this.root, 'cache');
  }

  async ensure(): Promise<void> {
    await mkdir(this.workTree, { recursive: true });
    // Actions may run as any user (run_as_user); the filesystem is the pipeline's own, so anyone in it may write.
    await chmod(this.workTree, 0o777);
    await mkdir(this.cacheDir, { recursive: true });
  }

  async clearCache(): Promise<void> {
    await rm(this.cacheDir, { recursive: true, force: true });
    await mkdir(this.cacheDir, { recursive: true });
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /**
   * Resolves `userPath` inside the work tree following symlinks, so that a link in the repository
   * (`etc -> /etc`) cannot make a mount or an export reach the host. Missing trailing components are
   * allowed (they are created later, inside); `create` makes the directory.
   */
  async resolveInside(userPath: string, options: { create?: 'dir' | 'parent' } = {}): Promise<string> {
    const lexical = confinePath(this.workTree, userPath);
    if (lexical === null) throw new PathEscapeError(`path "${userPath}" leaves the pipeline filesystem`);
    const rootReal = await realpath(this.workTree);
    const rel = path.relative(this.workTree, lexical);
    const parts = rel === '' ? [] : rel.split(path.sep);
    let current = rootReal;
    for (const [i, part] of parts.entries()) {
      const next = path.join(current, part);
      let stat;
      try {
        stat = await lstat(next);
      } catch {
        // The rest does not exist yet: it can only be created inside `current`, which is confined.
        const rest = path.join(current, ...parts.slice(i));
        if (options.create === 'dir') await mkdir(rest, { recursive: true });
        if (options.create === 'parent') await mkdir(path.dirname(rest), { recursive: true });
        return this.checkInside(rootReal, options.create === 'dir' ? await realpath(rest) : rest, userPath);
      }
      if (stat.isSymbolicLink()) {
        // A dangling link is judged by where it points, not followed.
        current = await realpath(next).catch(async () =>
          path.resolve(path.dirname(next), await readlink(next)),
        );
      } else current = next;
      this.checkInside(rootReal, current, userPath);
    }
    if (options.create === 'parent') await mkdir(path.dirname(current), { recursive: true });
    return current;
  }

  private checkInside(rootReal: string, candidate: string, userPath: string): string {
    const rel = path.relative(rootReal, candidate);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new PathEscapeError(
        `path "${userPath}" leaves the pipeline filesystem (through a symbolic link)`,
      );
    }
    return candidate;
  }
}
