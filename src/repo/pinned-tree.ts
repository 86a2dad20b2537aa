import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmdirSync,
  unlinkSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * Writes into a directory tree that hostile containers may be changing at the same moment (a pipeline
 * filesystem under concurrent runs), without ever letting the kernel resolve a path a container can
 * change: each directory is opened one component at a time through its parent's descriptor
 * (`/proc/self/fd/<fd>/<name>`, Node's stand-in for openat) with O_NOFOLLOW, and every entry is named as
 * one component of a pinned directory. mkdir, rmdir, unlink, rename and symlink never follow their last
 * component, so a directory swapped for a symbolic link is refused or replaced, never followed.
 */

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** A container flipping one name back and forth can make a step retry; it cannot make it loop. */
const MAX_RETRIES = 100;

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** The tree changed under the writer more often than it retries; the checkout fails rather than loop. */
export class TreeChangedError extends Error {}

/** `name` inside the directory held by `fd`; `name` must be a single component. */
export function entryAt(fd: number, name: string): string {
  return `/proc/self/fd/${fd}/${name}`;
}

/** lstat of an entry, or null when there is nothing there. */
export function lstatAt(fd: number, name: string): Stats | null {
  try {
    return lstatSync(entryAt(fd, name));
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/**
 * The directories of one tree, opened on demand and kept open while writes stay below them. Paths are
 * '/'-separated, relative to the root, and checked component by component ('', '.', '..' and '.git' are
 * refused: a hostile repository can hold tree objects git itself would never check out).
 */
export class PinnedTree {
  /** Open directories from the root down to the last one used: [relative path, fd]. */
  private readonly stack: Array<[string, number]>;

  constructor(rootFd: number) {
    this.stack = [['', rootFd]];
  }

  /**
   * The directory `dir` (relative, '' for the root), pinned. With `create`, missing directories are made
   * and anything else in the way (a file, a symbolic link) is removed, as git does; without it, null when
   * the directory is not there as a real directory.
   */
  directory(dir: string, create: boolean): number | null {
    while (this.stack.length > 1 && !isWithin(dir, this.stack[this.stack.length - 1]![0])) {
      closeSync(this.stack.pop()![1]);
    }
    const [reached] = this.stack[this.stack.length - 1]!;
    const rest = (reached === '' ? dir : dir.slice(reached.length + 1)).split('/').filter((c) => c !== '');
    for (const name of rest) {
      checkComponent(name);
      const fd = this.openChild(this.stack[this.stack.length - 1]![1], name, create);
      if (fd === null) return null;
      const parent = this.stack[this.stack.length - 1]![0];
      this.stack.push([parent === '' ? name : `${parent}/${name}`, fd]);
    }
    return this.stack[this.stack.length - 1]![1];
  }

  /** Forgets the directories below the root (one of them was removed under us); the next call walks again. */
  reset(): void {
    while (this.stack.length > 1) closeSync(this.stack.pop()![1]);
  }

  /** Closes every directory but the root, which belongs to the caller. */
  close(): void {
    this.reset();
  }

  private openChild(parentFd: number, name: string, create: boolean): number | null {
    const entry = entryAt(parentFd, name);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt += 1) {
      try {
        return openSync(entry, DIRECTORY);
      } catch (err) {
        const code = errCode(err);
        if (code !== 'ENOENT' && code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
        if (!create) return null;
        try {
          if (code === 'ENOENT') mkdirSync(entry, 0o755);
          else unlinkSync(entry); // a file or link where a directory belongs: the name itself goes
        } catch (again) {
          const c = errCode(again);
          if (c !== 'EEXIST' && c !== 'ENOENT' && c !== 'EISDIR' && c !== 'EPERM') throw again;
        }
      }
    }
    throw new TreeChangedError(`"${name}" keeps changing while the checkout writes it`);
  }
}

function isWithin(dir: string, ancestor: string): boolean {
  return ancestor === '' || dir === ancestor || dir.startsWith(`${ancestor}/`);
}

/** A component of a path a repository names; refuses what could leave or corrupt the tree. */
export function checkComponent(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.toLowerCase() === '.git' || name.includes('\0'))
    throw new TreeChangedError(`the repository names an invalid path component "${name}"`);
}

/**
 * Moves `source` (a file or link Gantry made in a directory of its own on the same filesystem) to `name`
 * in the pinned directory `dirFd`, replacing whatever is there; a directory in the way is emptied through
 * descriptors and removed first.
 */
export async function placeAt(source: string, dirFd: number, name: string): Promise<void> {
  const entry = entryAt(dirFd, name);
  for (let attempt = 0; attempt < MAX_RETRIES; attempt += 1) {
    try {
      renameSync(source, entry);
      return;
    } catch (err) {
      const code = errCode(err);
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
    }
    await removeEntryAt(dirFd, name);
  }
  throw new TreeChangedError(`"${name}" keeps changing while the checkout writes it`);
}

/** Removes `name` from the pinned directory unless it is a directory; true when something was removed. */
export function unlinkFileAt(dirFd: number, name: string): boolean {
  try {
    unlinkSync(entryAt(dirFd, name));
    return true;
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EPERM' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/** Removes the directory `name` if it is empty; anything else (not empty, a link, gone) is left alone. */
export function rmdirIfEmptyAt(dirFd: number, name: string): void {
  try {
    rmdirSync(entryAt(dirFd, name));
  } catch (err) {
    const code = errCode(err);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
}

/**
 * Removes everything inside the directory held by `dirFd`, never following a symbolic link, whatever a
 * container does meanwhile: every entry is named through the descriptor of its parent as one component
 * (unlink and rmdir never follow it), and a subdirectory is opened with O_NOFOLLOW and emptied through its
 * own descriptor. A directory swapped for a link after it was looked at is therefore either emptied where
 * it really is (inside) or refused by O_NOFOLLOW and its link removed; nothing outside is reached.
 */
export async function removeContentsAt(dirFd: number): Promise<void> {
  for (const name of await fsp.readdir(`/proc/self/fd/${dirFd}`)) await removeEntryAt(dirFd, name);
}

/** Removes `name` (file, link or whole directory) from the directory held by `parentFd`; see removeContentsAt. */
export async function removeEntryAt(parentFd: number, name: string): Promise<void> {
  const entry = entryAt(parentFd, name);
  for (let attempt = 0; attempt < MAX_RETRIES; attempt += 1) {
    let dir: FileHandle;
    try {
      dir = await fsp.open(entry, DIRECTORY);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
      try {
        await fsp.unlink(entry); // a file or a link: the name itself goes
        return;
      } catch (unlinkErr) {
        const again = errCode(unlinkErr);
        if (again === 'ENOENT') return;
        if (again !== 'EISDIR' && again !== 'EPERM') throw unlinkErr;
        continue; // it became a directory meanwhile
      }
    }
    try {
      await removeContentsAt(dir.fd);
    } finally {
      await dir.close();
    }
    try {
      await fsp.rmdir(entry);
      return;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') return;
      // ENOTEMPTY: written to meanwhile; ENOTDIR: swapped for a link or file. Look again.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
    }
  }
  throw new TreeChangedError(`"${name}" in the pipeline filesystem keeps changing; it could not be removed`);
}

/** Opens `dir` (a directory no container can rename, e.g. the mount point itself) without following a link. */
export function openDirectory(dir: string): number {
  return openSync(dir, DIRECTORY);
}
