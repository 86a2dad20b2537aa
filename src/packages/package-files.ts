import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveError, extractArchive } from './safe-extract.ts';

/** Largest archive a version upload may send (bytes). */
export const UPLOAD_LIMIT_BYTES = 512 * 1024 * 1024;
/** Largest total of file content one version may expand to (bytes): a gzip bomb stops here. */
export const EXTRACTED_LIMIT_BYTES = 2 * 1024 * 1024 * 1024;
/** Most entries one version archive may hold. */
export const ENTRY_LIMIT = 100_000;

export type ArchiveFormat = 'tar' | 'tar.gz';

export interface PackageLimits {
  uploadBytes: number;
  extractedBytes: number;
  entries: number;
}

const DEFAULT_LIMITS: PackageLimits = {
  uploadBytes: UPLOAD_LIMIT_BYTES,
  extractedBytes: EXTRACTED_LIMIT_BYTES,
  entries: ENTRY_LIMIT,
};

/** An uploaded archive, checked and unpacked in the staging area, not yet a version. */
export interface StagedVersion {
  archive: string;
  files: string;
  format: ArchiveFormat;
  archiveSize: number;
  /** sha256 of the archive, hex. */
  sha256: string;
  /** Bytes of the extracted files. */
  size: number;
}

/** What a version's archive must be when it arrives from the database or from a server. */
export interface ExpectedArchive {
  sha256: string;
  size: number;
  format: ArchiveFormat;
}

/** Versions being unpacked by this process, by directory: two runs needing one version unpack it once. */
const unpacking = new Map<string, Promise<{ entries: number }>>();

/**
 * Package versions on the disk of one server or worker: `<dataDir>/packages/<package id>/<version id>/`
 * holds the extracted files (mounted read-only into containers). The archive as uploaded lives in the
 * database (PackageStore); these directories are what each server or worker unpacked from it (the
 * server that took the upload keeps its extraction). Before archives were stored in the database,
 * `<version id>.<tar|tar.gz>` beside the directory held the archive: PackageStore imports such files. Uploads and unpacks are staged under `.incoming` on the same filesystem so that a
 * version appears by rename, complete or not at all.
 */
export class PackageFiles {
  readonly root: string;

  /** `limits` default to UPLOAD_LIMIT_BYTES, EXTRACTED_LIMIT_BYTES and ENTRY_LIMIT (tests lower them). */
  constructor(
    dataDir: string,
    private readonly limits: PackageLimits = DEFAULT_LIMITS,
  ) {
    this.root = path.join(dataDir, 'packages');
  }

  packageDir(packageId: string): string {
    return path.join(this.root, packageId);
  }

  /** The directory holding a version's extracted files. */
  versionDir(packageId: string, versionId: string): string {
    return path.join(this.root, packageId, versionId);
  }

  archiveFile(packageId: string, versionId: string, format: ArchiveFormat): string {
    return path.join(this.root, packageId, `${versionId}.${format}`);
  }

  /**
   * Streams `body` to the staging area (at most the upload limit), recognises gzip by its magic
   * bytes and extracts it safely. Throws ArchiveError when the upload is too large or the archive is
   * bad or unsafe; nothing is left behind then.
   */
  async stage(body: Readable): Promise<StagedVersion> {
    const incoming = path.join(this.root, '.incoming');
    await mkdir(incoming, { recursive: true });
    const name = randomBytes(8).toString('hex');
    const staged = { archive: path.join(incoming, `${name}.archive`), files: path.join(incoming, name) };
    try {
      const received = await receive(body, staged.archive, this.limits.uploadBytes);
      if (received.size === 0)
        throw new ArchiveError('request body is empty; send the archive (.tar or .tar.gz) as the body');
      const format: ArchiveFormat = (await isGzip(staged.archive)) ? 'tar.gz' : 'tar';
      await mkdir(staged.files, { mode: 0o755 });
      const { size } = await extractArchive(staged.archive, format === 'tar.gz', staged.files, {
        maxBytes: this.limits.extractedBytes,
        maxEntries: this.limits.entries,
      });
      return { ...staged, format, archiveSize: received.size, sha256: received.sha256, size };
    } catch (err) {
      await this.discard(staged);
      throw err;
    }
  }

  /** Moves a staged version's files into place under its package; its archive goes (the database has it). */
  async commit(staged: StagedVersion, packageId: string, versionId: string): Promise<void> {
    await mkdir(this.packageDir(packageId), { recursive: true });
    await rename(staged.files, this.versionDir(packageId, versionId));
    await rm(staged.archive, { force: true });
  }

  /**
   * Unpacks a version arriving as `chunks` (from the database, or from a server for a worker) into
   * its directory, unless it is there already. The bytes must be `expected` (size and sha256: a
   * truncated or altered transfer is refused) and the archive passes the same checks as an upload
   * (no absolute paths, no `..`, no link leading out, no device files, the same limits). Returns the
   * number of entries unpacked (0 when the directory was already there).
   */
  async unpack(
    packageId: string,
    versionId: string,
    expected: ExpectedArchive,
    chunks: () => AsyncIterable<Buffer>,
  ): Promise<{ entries: number }> {
    const dir = this.versionDir(packageId, versionId);
    const running = unpacking.get(dir);
    if (running) return running.then(() => ({ entries: 0 }));
    const job = this.unpackOnce(packageId, versionId, expected, chunks).finally(() => unpacking.delete(dir));
    unpacking.set(dir, job);
    return job;
  }

  private async unpackOnce(
    packageId: string,
    versionId: string,
    expected: ExpectedArchive,
    chunks: () => AsyncIterable<Buffer>,
  ): Promise<{ entries: number }> {
    if (await this.hasVersion(packageId, versionId)) return { entries: 0 };
    const incoming = path.join(this.root, '.incoming');
    await mkdir(incoming, { recursive: true });
    const name = randomBytes(8).toString('hex');
    const staged = { archive: path.join(incoming, `${name}.archive`), files: path.join(incoming, name) };
    try {
      const received = await receive(Readable.from(chunks()), staged.archive, this.limits.uploadBytes);
      if (received.size !== expected.size || received.sha256 !== expected.sha256)
        throw new ArchiveError(
          `the archive arrived as ${received.size} bytes with sha256 ${received.sha256}, not the ${expected.size} bytes with sha256 ${expected.sha256} stored`,
        );
      await mkdir(staged.files, { mode: 0o755 });
      const { entries } = await extractArchive(staged.archive, expected.format === 'tar.gz', staged.files, {
        maxBytes: this.limits.extractedBytes,
        maxEntries: this.limits.entries,
      });
      await mkdir(this.packageDir(packageId), { recursive: true });
      try {
        await rename(staged.files, this.versionDir(packageId, versionId));
      } catch (err) {
        // Another process sharing this data directory unpacked it first.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      return { entries };
    } finally {
      await this.discard(staged);
    }
  }

  async discard(staged: { archive: string; files: string }): Promise<void> {
    await rm(staged.files, { recursive: true, force: true });
    await rm(staged.archive, { force: true });
  }

  async removeVersion(packageId: string, versionId: string): Promise<void> {
    await rm(this.versionDir(packageId, versionId), { recursive: true, force: true });
    for (const format of ['tar', 'tar.gz'] as const)
      await rm(this.archiveFile(packageId, versionId, format), { force: true });
  }

  async removePackage(packageId: string): Promise<void> {
    await rm(this.packageDir(packageId), { recursive: true, force: true });
  }

  /** The version directories on disk, by package id. */
  async listVersions(): Promise<{ packageId: string; versionId: string }[]> {
    const out: { packageId: string; versionId: string }[] = [];
    const packages = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const p of packages) {
      if (!p.isDirectory() || p.name.startsWith('.')) continue;
      for (const v of await readdir(path.join(this.root, p.name), { withFileTypes: true }).catch(() => []))
        if (v.isDirectory()) out.push({ packageId: p.name, versionId: v.name });
    }
    return out;
  }

  /**
   * Notes that a version's files are used now: its directory's modification time says when it was last
   * used (unusedSince). Containers mount the directory read-only, so only this process sets it.
   */
  async markUsed(packageId: string, versionId: string): Promise<void> {
    const now = new Date();
    await utimes(this.versionDir(packageId, versionId), now, now).catch(() => undefined);
  }

  /** The version directories not used (markUsed) since `before`. */
  async unusedSince(before: Date): Promise<{ packageId: string; versionId: string }[]> {
    const unused: { packageId: string; versionId: string }[] = [];
    for (const v of await this.listVersions()) {
      const info = await stat(this.versionDir(v.packageId, v.versionId)).catch(() => null);
      if (info && info.mtimeMs < before.getTime()) unused.push(v);
    }
    return unused;
  }

  /** True when a version's extracted files are on disk. */
  async hasVersion(packageId: string, versionId: string): Promise<boolean> {
    return (await stat(this.versionDir(packageId, versionId)).catch(() => null))?.isDirectory() ?? false;
  }
}

/** Writes `body` to `file`, refusing it once it passes `limit` bytes; returns its size and sha256. */
async function receive(
  body: Readable,
  file: string,
  limit: number,
): Promise<{ size: number; sha256: string }> {
  let size = 0;
  const hash = createHash('sha256');
  try {
    await pipeline(
      body,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > limit) throw new ArchiveError(`archive is larger than ${megabytes(limit)}`, true);
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file, { flags: 'wx', mode: 0o600 }),
    );
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    // The client went away or the connection broke mid-upload.
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as Error).message === 'aborted')
      throw new ArchiveError('the upload was interrupted');
    throw err;
  }
  return { size, sha256: hash.digest('hex') };
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MB` : `${bytes} bytes`;
}
