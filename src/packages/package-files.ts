import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
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
  /** Bytes of the extracted files. */
  size: number;
}

/**
 * Where package versions live on disk: `<dataDir>/packages/<package id>/<version id>/` holds the
 * extracted files (mounted read-only into containers) and `<version id>.<tar|tar.gz>` beside it the
 * archive as uploaded (served back by the download endpoint). Uploads are staged under `.incoming`
 * on the same filesystem so that a version appears by rename, complete or not at all.
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
      const archiveSize = await receive(body, staged.archive, this.limits.uploadBytes);
      const format: ArchiveFormat = (await isGzip(staged.archive)) ? 'tar.gz' : 'tar';
      await mkdir(staged.files, { mode: 0o755 });
      const { size } = await extractArchive(staged.archive, format === 'tar.gz', staged.files, {
        maxBytes: this.limits.extractedBytes,
        maxEntries: this.limits.entries,
      });
      return { ...staged, format, archiveSize, size };
    } catch (err) {
      await this.discard(staged);
      throw err;
    }
  }

  /** Moves a staged version into place under its package. */
  async commit(staged: StagedVersion, packageId: string, versionId: string): Promise<void> {
    await mkdir(this.packageDir(packageId), { recursive: true });
    await rename(staged.files, this.versionDir(packageId, versionId));
    await rename(staged.archive, this.archiveFile(packageId, versionId, staged.format));
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

  /** True when a version's extracted files are on disk. */
  async hasVersion(packageId: string, versionId: string): Promise<boolean> {
    return (await stat(this.versionDir(packageId, versionId)).catch(() => null))?.isDirectory() ?? false;
  }
}

/** Writes the request body to `file`, refusing it once it passes `limit` bytes; returns its size. */
async function receive(body: Readable, file: string, limit: number): Promise<number> {
  let size = 0;
  try {
    await pipeline(
      body,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > limit) throw new ArchiveError(`archive is larger than ${megabytes(limit)}`, true);
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
  if (size === 0)
    throw new ArchiveError('request body is empty; send the archive (.tar or .tar.gz) as the body');
  return size;
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
