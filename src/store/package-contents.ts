import type { Db } from './database.ts';
import { now } from './time.ts';

/** Bytes per stored chunk of a package archive: big enough to keep rows few, small enough to stream. */
export const PACKAGE_CHUNK_BYTES = 1024 * 1024;

export interface PackageContent {
  id: string;
  sha256: string;
  size: number;
}

/** A version's archive, once complete (undefined while it is being written, or when there is none). */
export async function getPackageContent(db: Db, id: string): Promise<PackageContent | undefined> {
  const row = await db
    .selectFrom('package_contents')
    .select(['id', 'sha256', 'size'])
    .where('id', '=', id)
    .where('complete', '=', 1)
    .executeTakeFirst();
  return row && { ...row, size: Number(row.size) };
}

/**
 * The row an archive's chunks hang from, incomplete until completePackageContent(); written before
 * the chunks (and, for an upload, before the version row). False when a row with this id exists.
 */
export async function createPackageContent(db: Db, c: PackageContent): Promise<boolean> {
  const res = await db
    .insertInto('package_contents')
    .values({ ...c, complete: 0, created_date: now() })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function completePackageContent(db: Db, id: string): Promise<void> {
  await db.updateTable('package_contents').set({ complete: 1 }).where('id', '=', id).execute();
}

export async function putPackageChunk(db: Db, contentId: string, seq: number, data: Buffer): Promise<void> {
  await db.insertInto('package_chunks').values({ content_id: contentId, seq, data }).execute();
}

/** Chunk `seq` of a content, or undefined past its end. */
export async function getPackageChunk(db: Db, contentId: string, seq: number): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom('package_chunks')
    .select('data')
    .where('content_id', '=', contentId)
    .where('seq', '=', seq)
    .executeTakeFirst();
  return row?.data;
}

/** Removes contents and (by cascade) their chunks. */
export async function deletePackageContents(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .deleteFrom('package_contents')
    .where('id', 'in', [...ids])
    .execute();
}

/** Removes a content left incomplete (a write that died), so that it can be written again. */
export async function deleteIncompletePackageContent(db: Db, id: string): Promise<void> {
  await db.deleteFrom('package_contents').where('id', '=', id).where('complete', '=', 0).execute();
}

/**
 * Removes contents whose version is gone (deleted with its workspace, project or package) or never
 * came (an upload that died between its chunks and its version row), and contents left incomplete,
 * written before `before` so that an upload under way on another server is left alone. Returns how
 * many went.
 */
export async function sweepPackageContents(db: Db, before: string): Promise<number> {
  const res = await db
    .deleteFrom('package_contents')
    .where('created_date', '<', before)
    .where(({ or, eb, not, exists, selectFrom }) =>
      or([
        eb('complete', '=', 0),
        not(
          exists(
            selectFrom('package_versions')
              .select('package_versions.id')
              .whereRef('package_versions.id', '=', 'package_contents.id'),
          ),
        ),
      ]),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Versions whose archive is not (completely) in the database: uploaded before it stored them. */
export async function versionsWithoutContent(
  db: Db,
): Promise<{ id: string; package_id: string; archive_format: string }[]> {
  return db
    .selectFrom('package_versions')
    .select(['package_versions.id', 'package_versions.package_id', 'package_versions.archive_format'])
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('package_contents')
            .select('package_contents.id')
            .whereRef('package_contents.id', '=', 'package_versions.id')
            .where('package_contents.complete', '=', 1),
        ),
      ),
    )
    .execute();
}

/** The ids of these versions that still exist. */
export async function existingVersionIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('package_versions')
    .select('id')
    .where('id', 'in', [...ids])
    .execute();
  return new Set(rows.map((r) => r.id));
}
