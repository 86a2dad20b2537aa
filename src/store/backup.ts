import path from 'node:path';
import SqliteDriver from 'better-sqlite3';

/** The SQLite file a database URL names (empty: `<dataDir>/gantry.db`); null for other databases. */
export function sqliteFileOf(url: string, dataDir: string): string | null {
  if (url === '') return path.join(dataDir, 'gantry.db');
  if (!url.startsWith('sqlite:')) return null;
  return path.resolve(url.slice('sqlite:'.length).replace(/^\/\//, ''));
}

/**
 * Copies a live SQLite database to `dest` with SQLite's online backup API: a consistent snapshot even
 * while the server writes (WAL mode), without stopping it. The source must exist.
 */
export async function backupSqlite(file: string, dest: string): Promise<void> {
  const db = new SqliteDriver(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(dest);
  } finally {
    db.close();
  }
}

/** The secret key fingerprint a SQLite database file records (null when it records none). */
export function storedKeyFingerprint(file: string): string | null {
  const db = new SqliteDriver(file, { fileMustExist: true, readonly: true });
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'secret_key_fingerprint'").get() as
      { value: string } | undefined;
    return row?.value ?? null;
  } finally {
    db.close();
  }
}
