import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { RepositoryError, runGit } from './git-cli.ts';
import {
  PinnedTree,
  checkComponent,
  entryAt,
  lstatAt,
  openDirectory,
  placeAt,
  removeContentsAt,
  removeEntryAt,
  rmdirIfEmptyAt,
  unlinkFileAt,
} from './pinned-tree.ts';
import { InvalidRefError, RevisionNotFoundError, SHA_PATTERN } from './refs.ts';

export interface CheckoutOptions {
  /** The project's bare mirror (read only here). */
  mirrorPath: string;
  /** Commit to materialise; resolve it with resolveRevision first. */
  sha: string;
  /** The pipeline filesystem. It never gets a .git directory. */
  workTree: string;
  /**
   * The pipeline's own record of the last checkout, kept outside the work tree, on its filesystem (its
   * directory is the staging area). It remembers what the previous checkout wrote, which is how files
   * deleted between revisions are found and removed, and edited ones restored.
   */
  indexFile: string;
  /** Empty the work tree (through descriptors, never following a link) and forget the index first. */
  clean: boolean;
  signal?: AbortSignal | undefined;
}

/** What the last checkout wrote at one path, to know later whether an action changed it. */
interface RecordedEntry {
  mode: string;
  oid: string;
  /** lstat of what was written: size, mtime, ctime, inode; null when unknown (always rewritten). */
  stat: [number, number, number, number] | null;
}

interface TreeEntry {
  mode: string;
  oid: string;
  path: string;
}

const RECORD_VERSION = 1;
const EXECUTABLE = '100755';
const SYMLINK = '120000';
const GITLINK = '160000';

/**
 * Materialises commit `sha` into `workTree`, the way Buddy keeps a pipeline filesystem between runs:
 * tracked files are brought to the revision (local edits overwritten), files the previous checkout
 * wrote that the revision no longer has are deleted, and untracked files stay.
 *
 * Containers of other runs of the pipeline (concurrent_pipeline_runs) may be changing the work tree
 * meanwhile, swapping a directory for a link to the host. So git never writes there: `git checkout-index
 * --temp` writes the files that need writing (with .gitattributes conversions) into a staging directory
 * beside the index file, on the same filesystem and never mounted, and each is renamed into place through
 * directories pinned by descriptor (see pinned-tree.ts). Deletions go through the same descriptors. The
 * index file records what was written (object, mode, lstat) instead of git's index. It never writes the
 * mirror's HEAD or refs, so pipelines can check out from one mirror at once.
 */
export async function checkout(opts: CheckoutOptions): Promise<void> {
  if (!SHA_PATTERN.test(opts.sha))
    throw new InvalidRefError(`${JSON.stringify(opts.sha)} is not a commit SHA`);
  const gitDir = path.resolve(opts.mirrorPath);
  const workTree = path.resolve(opts.workTree);
  const indexFile = path.resolve(opts.indexFile);
  const relative = path.relative(workTree, indexFile);
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
    // Inside the work tree the index would be visible to actions and deleted by a clean checkout.
    throw new RepositoryError('the index file must be outside the work tree');
  }

  // Synchronous: they are there on every run but the first, and a thread-pool trip each costs more.
  mkdirSync(workTree, { recursive: true });
  mkdirSync(path.dirname(indexFile), { recursive: true });
  const run = { signal: opts.signal };
  const missing = async (): Promise<RevisionNotFoundError | null> => {
    const { exitCode } = await runGit(['--git-dir', gitDir, 'cat-file', '-e', `${opts.sha}^{commit}`], {
      ...run,
      okCodes: [1, 128],
    });
    return exitCode === 0
      ? null
      : new RevisionNotFoundError(`revision "${opts.sha}" not found in the repository`, 'revision', opts.sha);
  };

  const rootFd = openDirectory(workTree);
  const tree = new PinnedTree(rootFd);
  let staging: Staging | null = null;
  try {
    const previous = opts.clean
      ? { sha: null, entries: new Map<string, RecordedEntry>() }
      : readRecord(indexFile);
    let wanted: Map<string, TreeEntry>;
    if (previous.sha === opts.sha) {
      // The revision the last checkout wrote: what belongs where is known without asking git.
      wanted = new Map([...previous.entries].map(([p, e]) => [p, { mode: e.mode, oid: e.oid, path: p }]));
    } else {
      staging = new Staging(gitDir, opts.sha, indexFile, opts.signal);
      try {
        wanted = await staging.readTree();
      } catch (err) {
        throw (await missing().catch(() => null)) ?? err;
      }
    }
    if (opts.clean) {
      // Only now that the commit is known to exist: a typo must not wipe the pipeline filesystem.
      rmSync(indexFile, { force: true });
      await removeContentsAt(rootFd);
    }
    removeDropped(tree, previous.entries, wanted);
    const record = new Map<string, RecordedEntry>();
    const toWrite: TreeEntry[] = [];
    for (const entry of wanted.values()) {
      const { dir, name } = splitPath(entry.path);
      const dirFd = tree.directory(dir, true)!;
      const old = previous.entries.get(entry.path);
      const stat = lstatAt(dirFd, name);
      if (entry.mode === GITLINK) {
        if (stat === null || !stat.isDirectory()) await writeGitlink(dirFd, name);
        record.set(entry.path, { mode: entry.mode, oid: entry.oid, stat: null });
      } else if (old && old.mode === entry.mode && old.oid === entry.oid && sameStat(old.stat, stat)) {
        record.set(entry.path, old);
      } else {
        toWrite.push(entry);
      }
    }
    if (toWrite.length > 0) {
      staging ??= new Staging(gitDir, opts.sha, indexFile, opts.signal);
      await staging.readTree();
      await staging.writeInto(tree, toWrite, record);
    }
    writeRecord(indexFile, opts.sha, record);
  } finally {
    staging?.remove();
    tree.close();
    closeSync(rootFd);
  }
}

/**
 * A directory of Gantry's own beside the index file (same filesystem as the work tree, never mounted)
 * where git reads the commit's tree into a scratch index and writes the files that need writing.
 */
class Staging {
  private readonly dir: string;
  private entries: Map<string, TreeEntry> | null = null;

  constructor(
    private readonly gitDir: string,
    private readonly sha: string,
    indexFile: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.dir = mkdtempSync(path.join(path.dirname(indexFile), '.checkout-'));
  }

  private get run(): { signal: AbortSignal | undefined; cwd: string; env: Record<string, string> } {
    // Version 2 so that readIndex can parse it; git would pick 4 for feature.manyFiles.
    return {
      signal: this.signal,
      cwd: this.dir,
      env: { GIT_INDEX_FILE: path.join(this.dir, '.index'), GIT_INDEX_VERSION: '2' },
    };
  }

  private get base(): string[] {
    return ['--git-dir', this.gitDir, '--work-tree', this.dir];
  }

  /** The commit's tree, flattened (one git process); fails when the commit does not exist. */
  async readTree(): Promise<Map<string, TreeEntry>> {
    if (this.entries) return this.entries;
    await runGit([...this.base, 'read-tree', `${this.sha}^{commit}`], this.run);
    this.entries = readIndex(readFileSync(path.join(this.dir, '.index')), this.sha.length === 64 ? 32 : 20);
    return this.entries;
  }

  /** Has git write `entries` (conversions applied), then moves each into place and records it. */
  async writeInto(tree: PinnedTree, entries: TreeEntry[], record: Map<string, RecordedEntry>): Promise<void> {
    const { stdout } = await runGit([...this.base, 'checkout-index', '--temp', '-z', '--stdin'], {
      ...this.run,
      input: entries.map((e) => `${e.path}\0`).join(''),
    });
    const temps = new Map<string, string>();
    for (const line of stdout.split('\0')) {
      const tab = line.indexOf('\t');
      if (tab > 0) temps.set(line.slice(tab + 1), path.join(this.dir, line.slice(0, tab)));
    }
    for (const [i, entry] of entries.entries()) {
      const temp = temps.get(entry.path);
      if (temp === undefined) throw new RepositoryError(`git did not write "${entry.path}"`);
      let source = temp;
      if (entry.mode === SYMLINK) {
        // --temp writes a link's target as the file's content.
        source = path.join(this.dir, `.link-${i}`);
        symlinkSync(readFileSync(temp, 'utf8'), source);
      } else {
        chmodSync(temp, entry.mode === EXECUTABLE ? 0o755 : 0o644);
      }
      const { dir, name } = splitPath(entry.path);
      let dirFd = tree.directory(dir, true)!;
      try {
        await placeAt(source, dirFd, name);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // The pinned directory was removed meanwhile: walk again from the root, once.
        tree.reset();
        dirFd = tree.directory(dir, true)!;
        await placeAt(source, dirFd, name);
      }
      record.set(entry.path, { mode: entry.mode, oid: entry.oid, stat: statOf(lstatAt(dirFd, name)) });
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The entries of a git index file, version 2 or 3 (https://git-scm.com/docs/index-format): a 12-byte
 * header, then per entry 40 bytes of stat data (mode at 24), the object id, 16 bits of flags, in version 3
 * 16 more when flagged, the name, and 1 to 8 NULs to a multiple of 8. Read here rather than through
 * `git ls-files`, which would cost another process on every checkout.
 */
function readIndex(raw: Buffer, oidLength: number): Map<string, TreeEntry> {
  const version = raw.readUInt32BE(4);
  if (raw.toString('latin1', 0, 4) !== 'DIRC' || (version !== 2 && version !== 3))
    throw new RepositoryError(`unexpected git index (version ${version})`);
  const count = raw.readUInt32BE(8);
  const entries = new Map<string, TreeEntry>();
  let at = 12;
  for (let n = 0; n < count; n += 1) {
    const mode = raw.readUInt32BE(at + 24).toString(8);
    const oid = raw.toString('hex', at + 40, at + 40 + oidLength);
    const flags = raw.readUInt16BE(at + 40 + oidLength);
    const nameAt = at + 40 + oidLength + 2 + (version === 3 && flags & 0x4000 ? 2 : 0);
    const nameEnd = raw.indexOf(0, nameAt);
    const p = raw.toString('utf8', nameAt, nameEnd);
    for (const component of p.split('/')) checkComponent(component);
    entries.set(p, { mode, oid, path: p });
    at += (nameEnd - at + 8) & ~7;
  }
  return entries;
}

function splitPath(p: string): { dir: string; name: string } {
  const slash = p.lastIndexOf('/');
  return slash < 0 ? { dir: '', name: p } : { dir: p.slice(0, slash), name: p.slice(slash + 1) };
}

function statOf(stat: Stats | null): RecordedEntry['stat'] {
  return stat === null ? null : [stat.size, stat.mtimeMs, stat.ctimeMs, stat.ino];
}

/** True when what is there now is exactly what the last checkout wrote (ctime moves on any change). */
function sameStat(recorded: RecordedEntry['stat'], now: Stats | null): boolean {
  if (recorded === null || now === null || now.isDirectory()) return false;
  const current = statOf(now)!;
  return recorded.every((v, i) => v === current[i]);
}

/**
 * Files the previous checkout wrote that this revision no longer has: removed (a directory an action put
 * there instead is left alone, as git does), then their directories if that left them empty.
 */
function removeDropped(
  tree: PinnedTree,
  previous: Map<string, RecordedEntry>,
  wanted: Map<string, TreeEntry>,
): void {
  const emptied = new Set<string>();
  for (const p of previous.keys()) {
    if (wanted.has(p)) continue;
    const { dir, name } = splitPath(p);
    const dirFd = tree.directory(dir, false);
    if (dirFd !== null && unlinkFileAt(dirFd, name)) {
      for (let d = dir; d !== ''; d = splitPath(d).dir) emptied.add(d);
    }
  }
  const kept = new Set<string>();
  for (const p of wanted.keys()) for (let d = splitPath(p).dir; d !== ''; d = splitPath(d).dir) kept.add(d);
  // Deepest first, so a parent is tried once its children are gone.
  for (const d of [...emptied].filter((x) => !kept.has(x)).sort((a, b) => b.length - a.length)) {
    const { dir, name } = splitPath(d);
    const dirFd = tree.directory(dir, false);
    if (dirFd !== null) rmdirIfEmptyAt(dirFd, name);
  }
}

async function writeGitlink(dirFd: number, name: string): Promise<void> {
  // A submodule is an empty directory, as git leaves it without --recurse-submodules.
  await removeEntryAt(dirFd, name);
  mkdirSync(entryAt(dirFd, name), 0o755);
}

interface CheckoutRecord {
  /** The commit the last checkout wrote; null when unknown. */
  sha: string | null;
  entries: Map<string, RecordedEntry>;
}

/**
 * What the last checkout wrote. A data directory from before this format holds git's own index there: its
 * entries are read (to delete what the new revision dropped) and everything is written again.
 */
function readRecord(indexFile: string): CheckoutRecord {
  let raw: Buffer;
  try {
    raw = readFileSync(indexFile);
  } catch {
    return { sha: null, entries: new Map() };
  }
  try {
    if (raw.toString('latin1', 0, 4) === 'DIRC') {
      const entries = new Map<string, RecordedEntry>();
      for (const [p, e] of readIndex(raw, 20)) entries.set(p, { mode: e.mode, oid: e.oid, stat: null });
      return { sha: null, entries };
    }
    const parsed = JSON.parse(raw.toString('utf8')) as {
      version: number;
      sha: string;
      entries: Record<string, RecordedEntry>;
    };
    if (parsed.version === RECORD_VERSION)
      return { sha: parsed.sha, entries: new Map(Object.entries(parsed.entries)) };
  } catch {
    // unreadable: everything is written again
  }
  return { sha: null, entries: new Map() };
}

function writeRecord(indexFile: string, sha: string, record: Map<string, RecordedEntry>): void {
  const temp = `${indexFile}.tmp`;
  writeFileSync(temp, JSON.stringify({ version: RECORD_VERSION, sha, entries: Object.fromEntries(record) }));
  renameSync(temp, indexFile);
}
