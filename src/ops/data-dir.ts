import { mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from './startup-error.ts';

/**
 * Kernel filesystems that are never a place for data (statfs f_type magic numbers from
 * linux/magic.h). Node's recursive mkdir spins forever on some of them (/proc), so they are refused
 * before anything is created.
 */
const SPECIAL_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'],
  [0x74726163, 'tracefs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
  [0x6e736673, 'nsfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
]);

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the filesystem is read-only';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a directory';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'EDQUOT') return 'the disk quota is exhausted';
  return (err as Error).message;
}

/** The kernel filesystem `dir` (an existing path) is on, or null for an ordinary one. */
export function specialFilesystemOf(dir: string): string | null {
  try {
    return SPECIAL_FILESYSTEMS.get(Number(statfsSync(dir).type)) ?? null;
  } catch {
    return null;
  }
}

/**
 * Makes sure `dir` exists, is a directory on an ordinary filesystem and can be written, creating
 * missing levels one at a time. Throws a StartupError naming the directory and the cause.
 */
export function prepareDataDir(dir: string, what = 'data directory'): void {
  const missing: string[] = [];
  let existing = path.resolve(dir);
  for (;;) {
    try {
      statSync(existing);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new StartupError(`the ${what} ${dir} cannot be used: ${reason(err)}`);
      missing.unshift(existing);
      const parent = path.dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  const special = specialFilesystemOf(existing);
  if (special)
    throw new StartupError(
      `the ${what} ${dir} is on the ${special} kernel filesystem, which cannot hold data; choose a directory on a disk (--data-dir)`,
    );
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new StartupError(`the ${what} ${dir} cannot be created: ${reason(err)}`);
    }
  }
  if (!statSync(dir).isDirectory()) throw new StartupError(`the ${what} ${dir} is not a directory`);
  // A real write is the only reliable test: access(W_OK) ignores ACLs, quotas and a full disk.
  const probe = path.join(dir, `.gantry-write-test-${process.pid}`);
  try {
    writeFileSync(probe, 'ok');
  } catch (err) {
    throw new StartupError(`the ${what} ${dir} is not writable: ${reason(err)}`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Free bytes on the filesystem holding `dir` (for an unprivileged user). */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}
