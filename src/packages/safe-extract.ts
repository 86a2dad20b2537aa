import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';

/** One archive entry as tar-stream yields it: its header and a stream of its content. */
type Entry = AsyncIterable<Buffer> & {
  header: { name: string; type: string; mode: number; linkname: string };
};

/** An archive the server refuses: `tooLarge` maps to 413, anything else to 400. */
export class ArchiveError extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

export interface ExtractLimits {
  /** Bytes of file content all entries may hold together (a small gzip can inflate enormously). */
  maxBytes: number;
  maxEntries: number;
}

/**
 * The entry's path relative to the extraction root ('' for the root itself). Absolute names and `..`
 * components are refused outright rather than rewritten, so what is stored is what was uploaded.
 */
export function entryPath(name: string): string {
  if (name.startsWith('/')) throw new ArchiveError(`entry "${name}" has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ArchiveError(`entry "${name}" contains ".."`);
  return parts.join('/');
}

/**
 * True when a symbolic link at `linkPath` (relative to the root) pointing at `target` stays inside
 * the root. `..` is allowed only at the start of the target: after a name it would climb out of
 * whatever that name is a link to, which no lexical check can follow.
 */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return false;
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  const firstName = parts.findIndex((p) => p !== '..');
  if (firstName >= 0 && parts.slice(firstName).includes('..')) return false;
  const ups = firstName < 0 ? parts.length : firstName;
  const depth = linkPath.split('/').length - 1; // directories between the root and the link
  return ups <= depth;
}

/**
 * Checks (and with `create`, makes) the parent directories of `rel` under `root` one at a time,
 * refusing to pass through a symbolic link or a file: a link placed by an earlier entry must never
 * redirect a later write. Returns false when a parent is missing and `create` is false.
 */
async function realParents(root: string, rel: string, create: boolean): Promise<boolean> {
  const parts = rel.split('/').slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => null);
    if (stat === null) {
      if (!create) return false;
      await mkdir(current, { mode: 0o755 });
    } else if (stat.isSymbolicLink())
      throw new ArchiveError(
        `entry "${rel}" lies inside the symbolic link "${path.relative(root, current)}"`,
      );
    else if (!stat.isDirectory())
      throw new ArchiveError(`entry "${rel}" lies inside the file "${path.relative(root, current)}"`);
  }
  return true;
}

/** Removes what an earlier entry of the same name left (the later entry wins, as with tar); never follows it. */
async function clearTarget(target: string, rel: string): Promise<void> {
  const stat = await lstat(target).catch(() => null);
  if (stat === null) return;
  if (stat.isDirectory()) throw new ArchiveError(`entry "${rel}" would replace a directory`);
  await unlink(target);
}

/** An entry's content; a read that fails (a truncated or corrupt archive) is the archive's fault. */
async function* contentOf(entry: Entry): AsyncGenerator<Buffer> {
  const chunks = entry[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (err) {
      throw new ArchiveError(`not a valid archive: ${(err as Error).message}`);
    }
    if (next.done) return;
    yield next.value;
  }
}

/** Reads an entry's content to the end: tar-stream yields the next entry only after that. */
async function drain(entry: Entry): Promise<void> {
  for await (const chunk of contentOf(entry)) void chunk;
}

/** Writes a file entry's content to `target` (which must not exist), charging it to `budget`. */
async function writeFile(
  entry: Entry,
  target: string,
  budget: { bytes: number; limit: number },
): Promise<number> {
  // 'wx' cannot follow a link planted at the target in between; setuid/setgid/sticky bits are dropped.
  const handle = await open(target, 'wx', entry.header.mode & 0o777);
  let written = 0;
  try {
    for await (const chunk of contentOf(entry)) {
      written += chunk.length;
      if (written > budget.bytes)
        throw new ArchiveError(`archive expands to more than ${budget.limit} bytes`, true);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  budget.bytes -= written;
  return written;
}

/** Places one entry under `root`; returns the bytes of file content written. */
async function placeEntry(
  entry: Entry,
  root: string,
  budget: { bytes: number; limit: number },
): Promise<number> {
  const h = entry.header;
  const rel = entryPath(h.name);
  const target = path.join(root, rel);
  const type = h.type;
  if (rel === '') {
    if (type !== 'directory') throw new ArchiveError(`entry "${h.name}" has no name`);
    await drain(entry);
    return 0;
  }
  await realParents(root, rel, true);
  if (type === 'directory') {
    const stat = await lstat(target).catch(() => null);
    if (stat === null) await mkdir(target, { mode: 0o755 });
    else if (!stat.isDirectory())
      throw new ArchiveError(`directory entry "${rel}" would replace a file or link`);
    await drain(entry);
    return 0;
  }
  if (type === 'file' || type === 'contiguous-file') {
    await clearTarget(target, rel);
    return writeFile(entry, target, budget);
  }
  if (type === 'symlink') {
    const to = h.linkname;
    if (!symlinkStaysInside(rel, to))
      throw new ArchiveError(`symbolic link "${rel}" -> "${to}" points outside the package`);
    await clearTarget(target, rel);
    await symlink(to, target);
    await drain(entry);
    return 0;
  }
  if (type === 'link') {
    let sourceRel: string;
    try {
      sourceRel = entryPath(h.linkname);
    } catch {
      throw new ArchiveError(`hard link "${rel}" -> "${h.linkname}" points outside the package`);
    }
    const source = path.join(root, sourceRel);
    const reachable = sourceRel !== '' && sourceRel !== rel && (await realParents(root, sourceRel, false));
    const stat = reachable ? await lstat(source).catch(() => null) : null;
    if (stat === null || !stat.isFile())
      throw new ArchiveError(
        `hard link "${rel}" -> "${h.linkname}" does not name a file extracted before it`,
      );
    await clearTarget(target, rel);
    await link(source, target);
    await drain(entry);
    return 0;
  }
  throw new ArchiveError(`entry "${rel}" is a ${type}; only files, directories and links are allowed`);
}

/**
 * Extracts the tar (gzip-compressed when `gzip`) at `archive` into the existing empty directory
 * `dest`, refusing absolute paths, `..`, links that leave `dest`, device files and FIFOs. Nothing is
 * ever written through a symbolic link. Throws ArchiveError for a bad or unsafe archive (the caller
 * removes `dest`); other errors are faults of the server (a full disk).
 */
export async function extractArchive(
  archive: string,
  gzip: boolean,
  dest: string,
  limits: ExtractLimits,
): Promise<{ size: number; entries: number }> {
  const source = createReadStream(archive);
  const tar = extract();
  // A broken source or gzip stream ends the tar stream with its error, which the iterator below reports.
  const fail = (err: Error): void => void tar.destroy(err);
  source.on('error', fail);
  if (gzip) source.pipe(createGunzip().on('error', fail)).pipe(tar);
  else source.pipe(tar);
  const entries = (tar as AsyncIterable<Entry>)[Symbol.asyncIterator]();
  const budget = { bytes: limits.maxBytes, limit: limits.maxBytes };
  let size = 0;
  let count = 0;
  try {
    for (;;) {
      let next: IteratorResult<Entry>;
      try {
        next = await entries.next();
      } catch (err) {
        throw new ArchiveError(`not a valid archive: ${(err as Error).message}`);
      }
      if (next.done) break;
      count += 1;
      if (count > limits.maxEntries)
        throw new ArchiveError(`archive has more than ${limits.maxEntries} entries`, true);
      size += await placeEntry(next.value, dest, budget);
    }
  } finally {
    tar.destroy();
    source.destroy();
  }
  if (count === 0) throw new ArchiveError('archive holds no entries');
  return { size, entries: count };
}
