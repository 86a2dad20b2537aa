import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';

/**
 * Paths inside a directory that hostile containers can change (the pipeline filesystem) are never handed to
 * anyone as a string: a check on a string is a race against a container swapping a directory for a symbolic
 * link. Instead each path is walked one component at a time by the kernel, through
 * `/proc/self/fd/<directory fd>/<component>` opened with O_NOFOLLOW (Node has no openat(); this is the same
 * thing), and the result is held by a file descriptor. What the descriptor designates no longer depends on
 * any name, so a swap afterwards changes nothing.
 */

/** A user path that would reach the host outside the pipeline filesystem. */
export class PathEscapeError extends Error {}

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_NONBLOCK: a FIFO planted where a file is expected must not hang the server. */
const REGULAR_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Same bound as the kernel's (MAXSYMLINKS). */
const MAX_LINKS = 40;
/** A container flipping a name between a directory and a link can make a step retry; it cannot make it loop. */
const MAX_RETRIES = 1000;

/** A directory held open by descriptor; renaming or replacing its path afterwards does not change it. */
export class PinnedDirectory {
  private closed = false;

  constructor(
    readonly fd: number,
    /** The path as walked, relative to the root ("" for the root itself); for messages and links. */
    readonly relativePath: string,
  ) {}

  /**
   * The pinned directory as any process on this host (same PID namespace) can name it: the kernel follows
   * this magic link to the directory itself, whatever its path has become.
   */
  get hostPath(): string {
    return `/proc/${process.pid}/fd/${this.fd}`;
  }

  /**
   * `name` inside the pinned directory, for this process's own calls. The directory is reached through the
   * descriptor; `name` itself is a single component that lstat, readlink, mkdir, unlink and rename never
   * follow (open must be given O_NOFOLLOW).
   */
  entry(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/'))
      throw new Error(`not a single path component: "${name}"`);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** A directory inside the root plus one name in it (the target of an export, a file to read). */
export interface PinnedEntry {
  dir: PinnedDirectory;
  name: string;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

class Walk {
  private readonly fds: number[] = [];
  private readonly names: string[] = [];
  private links = 0;

  constructor(
    private readonly root: string,
    private readonly rootReal: string,
    private readonly userPath: string,
    private readonly create: boolean,
  ) {
    this.fds.push(openSync(root, DIRECTORY));
  }

  private escape(throughLink: boolean): PathEscapeError {
    return new PathEscapeError(
      `path "${this.userPath}" leaves the pipeline filesystem${throughLink ? ' (through a symbolic link)' : ''}`,
    );
  }

  private get top(): number {
    return this.fds[this.fds.length - 1]!;
  }

  /** Components of a link's target, pushed for walking; an absolute target is allowed only inside the root. */
  private followLink(target: string, pending: string[]): void {
    this.links += 1;
    if (this.links > MAX_LINKS) throw this.escape(true);
    let rest = target;
    if (path.isAbsolute(target)) {
      const rel = path.relative(this.rootReal, path.normalize(target));
      if (rel.startsWith('..') || path.isAbsolute(rel)) throw this.escape(true);
      // Restart from the root.
      while (this.fds.length > 1) closeSync(this.fds.pop()!);
      this.names.length = 0;
      rest = rel;
    }
    pending.push(...components(rest).reverse());
  }

  /** Walks `parts` (already split); each `..` goes back up the descriptors, never above the root. */
  descend(parts: string[]): void {
    const pending = [...parts].reverse();
    let retries = 0;
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (name === '..') {
        if (this.fds.length === 1) throw this.escape(this.links > 0);
        closeSync(this.fds.pop()!);
        this.names.pop();
        continue;
      }
      const entry = `/proc/self/fd/${this.top}/${name}`;
      try {
        this.fds.push(openSync(entry, DIRECTORY));
        this.names.push(name);
        continue;
      } catch (err) {
        const code = errCode(err);
        if (code !== 'ENOENT' && code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
      }
      if ((retries += 1) > MAX_RETRIES) throw new Error(`path "${this.userPath}" keeps changing`);
      const stat = lstatOrNull(entry);
      if (stat === null) {
        if (!this.create) throw new NotFoundError(`path "${this.userPath}" does not exist`);
        try {
          // mkdir never follows its last component: a link planted here makes it fail with EEXIST.
          mkdirSync(entry, 0o777);
        } catch (err) {
          if (errCode(err) !== 'EEXIST') throw err;
        }
        pending.push(name); // open what is there now, with the same checks
      } else if (stat.isSymbolicLink()) {
        let target: string;
        try {
          target = readlinkSync(entry);
        } catch {
          pending.push(name); // swapped meanwhile: look again
          continue;
        }
        this.followLink(target, pending);
      } else if (stat.isDirectory()) {
        pending.push(name); // it was something else a moment ago: look again
      } else {
        throw new NotDirectoryError(`path "${this.userPath}" is not a directory`);
      }
    }
  }

  /** The directory reached, pinned; every other descriptor of the walk is closed. */
  finish(): PinnedDirectory {
    const fd = this.fds.pop()!;
    this.close();
    return new PinnedDirectory(fd, this.names.join('/'));
  }

  /** The last component of the walk so far, resolved through links, as an entry of its pinned parent. */
  finishEntry(name: string): PinnedEntry {
    for (let i = 0; ; i += 1) {
      if (name === '..' || name === '.')
        throw new NotDirectoryError(`path "${this.userPath}" names a directory, not a file`);
      const entry = `/proc/self/fd/${this.top}/${name}`;
      const stat = lstatOrNull(entry);
      if (stat === null || !stat.isSymbolicLink() || i > MAX_LINKS) {
        if (stat?.isSymbolicLink()) throw this.escape(true);
        return { dir: this.finish(), name };
      }
      let target: string;
      try {
        target = readlinkSync(entry);
      } catch {
        continue;
      }
      // A link at the end is followed like today's realpath did: its directory part is walked, its last
      // component becomes the entry.
      const parts: string[] = [];
      this.followLink(target, parts);
      parts.reverse();
      const last = parts.pop();
      if (last === undefined) throw new NotDirectoryError(`path "${this.userPath}" names a directory`);
      this.descend(parts);
      name = last;
    }
  }

  close(): void {
    for (const fd of this.fds) closeSync(fd);
    this.fds.length = 0;
  }
}

/** The path names a file where a directory is needed (or the reverse). */
export class NotDirectoryError extends Error {}
/** The path does not exist and was not to be created. */
export class NotFoundError extends Error {}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

function split(root: string, userPath: string): { rootReal: string; parts: string[] } {
  if (userPath.includes('\0')) throw new PathEscapeError(`path "${userPath}" contains a NUL character`);
  return { rootReal: realpathSync(root), parts: components(userPath.replace(/\\/g, '/')) };
}

function walking<T>(root: string, userPath: string, create: boolean, run: (walk: Walk) => T): T {
  const { rootReal } = split(root, userPath);
  const walk = new Walk(root, rootReal, userPath, create);
  try {
    return run(walk);
  } catch (err) {
    walk.close();
    throw err;
  }
}

/**
 * Pins the directory `userPath` (absolute or relative, read from `root`) inside `root`, a directory no
 * container can rename. Links are followed only while they stay inside; `create` makes missing directories
 * (mode 0777 less the umask). The caller closes the result.
 */
export function pinDirectory(
  root: string,
  userPath: string,
  options: { create?: boolean } = {},
): PinnedDirectory {
  const { parts } = split(root, userPath);
  return walking(root, userPath, options.create ?? false, (walk) => {
    walk.descend(parts);
    return walk.finish();
  });
}

/**
 * Pins the directory that holds `userPath` (created when `createParents`) and returns it with the last
 * component, a link there followed while it stays inside. The caller closes `dir`.
 */
export function pinEntry(
  root: string,
  userPath: string,
  options: { createParents?: boolean } = {},
): PinnedEntry {
  const { parts } = split(root, userPath);
  const name = parts.pop();
  if (name === undefined) throw new NotDirectoryError(`path "${userPath}" names the filesystem root`);
  return walking(root, userPath, options.createParents ?? false, (walk) => {
    walk.descend(parts);
    return walk.finishEntry(name);
  });
}

/**
 * Opens a regular file inside `root` for reading, refusing links out, FIFOs, devices and directories. The
 * caller closes the descriptor.
 */
export function openFileInside(root: string, userPath: string): number {
  const { dir, name } = pinEntry(root, userPath);
  try {
    return openRegularFile(dir.entry(name), userPath);
  } finally {
    dir.close();
  }
}

/** Opens `file` without following a link at its end and checks it is a regular file. */
export function openRegularFile(file: string, what: string): number {
  let fd: number;
  try {
    fd = openSync(file, REGULAR_FILE);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ELOOP') throw new PathEscapeError(`path "${what}" is a symbolic link`);
    if (code === 'ENOENT') throw new NotFoundError(`path "${what}" does not exist`);
    if (code === 'EISDIR') throw new NotDirectoryError(`path "${what}" is a directory, not a file`);
    throw err;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new NotDirectoryError(`path "${what}" is not a regular file`);
  }
  return fd;
}

/**
 * Moves `tempFile` (a file Gantry wrote in a directory of its own on the same filesystem) to `name` in the
 * pinned directory. rename never follows its last component; anything there other than a regular file is
 * refused rather than replaced.
 */
export function moveInto(tempFile: string, target: PinnedEntry, what: string): void {
  const dest = target.dir.entry(target.name);
  const existing = lstatOrNull(dest);
  if (existing !== null && !existing.isFile())
    throw new NotDirectoryError(`path "${what}" exists and is not a regular file`);
  try {
    renameSync(tempFile, dest);
  } catch (err) {
    if (errCode(err) === 'ENOENT')
      throw new NotFoundError(`the directory of "${what}" was removed while it was being written`);
    throw err;
  }
}

/**
 * A hard link, in `privateDir` (Gantry's own, same filesystem), to the regular file `name` of a pinned
 * directory: the link names the file's inode, so it can be handed to Docker as a bind source that no
 * container can swap. Returns its path; the caller unlinks it.
 */
export function linkRegularFile(
  target: PinnedEntry,
  privateDir: string,
  linkName: string,
  what: string,
): string {
  const linkPath = path.join(privateDir, linkName);
  // link(2) does not follow a link at its source; what it made is checked where no container can reach.
  linkSync(target.dir.entry(target.name), linkPath);
  if (!lstatSync(linkPath).isFile()) {
    unlinkSync(linkPath);
    throw new PathEscapeError(`path "${what}" is not a regular file`);
  }
  return linkPath;
}

/** Removal through descriptors lives with the checkout's writer; re-exported for the pipeline filesystem. */
export { removeContentsAt } from '../repo/pinned-tree.ts';
