import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Db } from '../store/database.ts';
import {
  completePackageContent,
  createPackageContent,
  deleteIncompletePackageContent,
  deletePackageContents,
  existingVersionIds,
  getPackageChunk,
  getPackageContent,
  PACKAGE_CHUNK_BYTES,
  putPackageChunk,
  sweepPackageContents,
  versionsWithoutContent,
  type PackageContent,
} from '../store/package-contents.ts';
import { type ArchiveFormat, PackageFiles, type PackageLimits, type StagedVersion } from './package-files.ts';

/** The version fields the store needs. */
export interface VersionRef {
  id: string;
  package_id: string;
  archive_format: string;
}

/** Why a version's archive cannot be had: it is in no database (see PackageStore.contentOf). */
export function archiveMissing(pkg: { identifier: string }, v: { version: string }): string {
  return `the archive of version "${v.version}" of package "${pkg.identifier}" is not in the database: it was uploaded before Gantry stored packages there, and the server holding it has not started since to import it`;
}

/** A content with no version for this long is an upload that died (or a deleted version): it is swept. */
const ORPHAN_AGE_MS = 24 * 3600 * 1000;

/** Imports of old archives under way in this process, by version id. */
const importing = new Map<string, Promise<PackageContent | null>>();

/**
 * Package versions for every server on one database: the archive as uploaded is stored in the database
 * in chunks (`package_contents` / `package_chunks`, with its size and sha256), so any server serves
 * it and any server, or a worker through one, unpacks it where its containers can mount it
 * (PackageFiles, `<dataDir>/packages/...`). Archives go in and out a chunk at a time, never whole in
 * memory.
 */
export class PackageStore {
  readonly files: PackageFiles;

  constructor(
    private readonly db: Db,
    dataDir: string,
    limits?: PackageLimits,
  ) {
    this.files = new PackageFiles(dataDir, limits);
  }

  /**
   * Keeps a staged upload as version `versionId`: its archive into the database, its files into this
   * server's directory. The caller writes the version row afterwards (and calls removeVersion if that
   * fails).
   */
  async keep(staged: StagedVersion, packageId: string, versionId: string): Promise<void> {
    const content = { id: versionId, sha256: staged.sha256, size: staged.archiveSize };
    if (!(await this.storeArchive(content, staged.archive)))
      throw new Error(`a package archive with the id ${versionId} is already stored`);
    try {
      await this.files.commit(staged, packageId, versionId);
    } catch (err) {
      await deletePackageContents(this.db, [versionId]);
      throw err;
    }
  }

  /**
   * Writes the archive in `file` into the database as `content` (its id, size and sha256), readable once
   * complete. False when a content with that id exists (another process wrote or is writing it).
   */
  async storeArchive(content: PackageContent, file: string): Promise<boolean> {
    if (!(await createPackageContent(this.db, content))) return false;
    try {
      await this.writeChunks(content.id, file);
      await completePackageContent(this.db, content.id);
      return true;
    } catch (err) {
      await deletePackageContents(this.db, [content.id]);
      throw err;
    }
  }

  private async writeChunks(contentId: string, file: string): Promise<void> {
    const handle = await open(file, 'r');
    try {
      for (let seq = 0; ; seq++) {
        const buf = Buffer.alloc(PACKAGE_CHUNK_BYTES);
        const { bytesRead } = await handle.read(buf, 0, PACKAGE_CHUNK_BYTES, seq * PACKAGE_CHUNK_BYTES);
        if (bytesRead === 0) return;
        await putPackageChunk(this.db, contentId, seq, buf.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * The archive of version `v` in the database; a version uploaded before archives were stored there
   * is imported from this server's data directory first. Null when it is in neither (it was uploaded
   * to another server that has not imported it yet).
   */
  async contentOf(v: VersionRef): Promise<PackageContent | null> {
    const stored = await getPackageContent(this.db, v.id);
    if (stored) return stored;
    const running = importing.get(v.id);
    if (running) return running;
    const job = this.importOld(v).finally(() => importing.delete(v.id));
    importing.set(v.id, job);
    return job;
  }

  private async importOld(v: VersionRef): Promise<PackageContent | null> {
    const file = this.files.archiveFile(v.package_id, v.id, v.archive_format as ArchiveFormat);
    const size = (await stat(file).catch(() => null))?.size;
    if (size === undefined) return null;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const content = { id: v.id, sha256: hash.digest('hex'), size };
    // A write that died part way is redone; one under way elsewhere (a shared data directory) wins.
    await deleteIncompletePackageContent(this.db, v.id);
    if (!(await this.storeArchive(content, file))) return (await getPackageContent(this.db, v.id)) ?? null;
    // The database has it now; the extracted files stay as this server's copy.
    await rm(file, { force: true });
    return content;
  }

  /** The archive's bytes, read from the database a chunk at a time. */
  chunks(content: PackageContent): AsyncIterable<Buffer> {
    const db = this.db;
    return (async function* () {
      let sent = 0;
      for (let seq = 0; ; seq++) {
        const data = await getPackageChunk(db, content.id, seq);
        if (data === undefined) break;
        sent += data.length;
        yield data;
      }
      if (sent !== content.size)
        throw new Error(`the stored archive ${content.id} has ${sent} bytes, not ${content.size}`);
    })();
  }

  /**
   * The directory of version `v`'s files on this server, unpacked from the database when this server
   * does not have them yet (`unpacked` then says how many entries). Null when the archive is not in
   * the database (see contentOf).
   */
  async localFiles(v: VersionRef): Promise<{ dir: string; unpacked: number } | null> {
    const dir = this.files.versionDir(v.package_id, v.id);
    if (await this.files.hasVersion(v.package_id, v.id)) return { dir, unpacked: 0 };
    const content = await this.contentOf(v);
    if (!content) return null;
    const { entries } = await this.files.unpack(
      v.package_id,
      v.id,
      { sha256: content.sha256, size: content.size, format: v.archive_format as ArchiveFormat },
      () => this.chunks(content),
    );
    return { dir, unpacked: entries };
  }

  async removeVersion(packageId: string, versionId: string): Promise<void> {
    await deletePackageContents(this.db, [versionId]);
    await this.files.removeVersion(packageId, versionId);
  }

  async removePackage(packageId: string, versionIds: readonly string[]): Promise<void> {
    await deletePackageContents(this.db, versionIds);
    await this.files.removePackage(packageId);
  }

  /**
   * At start: imports the archives of versions this server holds from before they were stored in the
   * database, sweeps contents without a version (older than a day) and removes this server's copies
   * of versions deleted through another server.
   */
  async maintain(logger: Logger): Promise<void> {
    for (const v of await versionsWithoutContent(this.db)) {
      try {
        if (await this.contentOf(v))
          logger.info({ version: v.id }, 'package version archive imported into the database');
      } catch (err) {
        logger.warn({ err, version: v.id }, 'importing a package version archive failed');
      }
    }
    const swept = await sweepPackageContents(this.db, new Date(Date.now() - ORPHAN_AGE_MS).toISOString());
    if (swept > 0) logger.info({ swept }, 'package archives without a version removed');
    const local = await this.files.listVersions();
    const live = await existingVersionIds(
      this.db,
      local.map((l) => l.versionId),
    );
    for (const l of local)
      if (!live.has(l.versionId)) await this.files.removeVersion(l.packageId, l.versionId);
  }
}
