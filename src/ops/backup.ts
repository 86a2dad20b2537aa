import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { backupSqlite, sqliteFileOf, storedKeyFingerprint } from '../store/backup.ts';
import { prepareDataDir } from './data-dir.ts';
import { redactDatabaseUrl } from './preflight.ts';
import { StartupError } from './startup-error.ts';
import { GANTRY_VERSION } from './version.ts';

/** Parts of the data directory a backup may carry besides the database. */
export const BACKUP_PARTS = ['repos', 'logs', 'packages'] as const;
export type BackupPart = (typeof BACKUP_PARTS)[number];

/** What `manifest.json` at the top of every backup archive says. */
export interface BackupManifest {
  format: 'gantry-backup-1';
  gantryVersion: string;
  createdAt: string;
  /** sha256 of the secret key the database's secrets are sealed with (not the key). */
  secretKeyFingerprint: string | null;
  parts: BackupPart[];
  /** True when the archive also holds secret.key (then it is as sensitive as the key itself). */
  secretKeyIncluded: boolean;
}

function tar(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('tar', args, { maxBuffer: 16 * 1024 * 1024 }, (err, _out, stderr) =>
      err ? reject(new StartupError(`tar failed: ${stderr.trim() || err.message}`)) : resolve(),
    ),
  );
}

function secretKeyFile(config: Config): string {
  return config.secretKeyFile || path.join(config.dataDir, 'secret.key');
}

/**
 * Writes one .tar.gz holding a consistent copy of the database (SQLite's online backup, safe while
 * the server runs), a manifest, and the chosen parts of the data directory. The secret key is left
 * out unless `withSecretKey`: an archive with the key opens every sealed secret.
 */
export async function createBackup(
  config: Config,
  file: string,
  options: { parts: BackupPart[]; withSecretKey: boolean },
): Promise<BackupManifest> {
  const db = sqliteFileOf(config.databaseUrl, config.dataDir);
  if (db === null)
    throw new StartupError(
      `the database is ${redactDatabaseUrl(config.databaseUrl)}, not SQLite: back it up with its own tools (PostgreSQL: pg_dump --format=custom --file=gantry.dump "<database URL>"; restore with pg_restore --clean --dbname=...), and the data directory's repos/, logs/ and packages/ with any file backup`,
    );
  if (!existsSync(db)) throw new StartupError(`no database at ${db}: is --data-dir right?`);
  const target = path.resolve(file);
  if (existsSync(target)) throw new StartupError(`${target} exists already; choose a new file`);
  const staging = mkdtempSync(path.join(path.dirname(target), '.gantry-backup-'));
  try {
    await backupSqlite(db, path.join(staging, 'gantry.db'));
    const keyFile = secretKeyFile(config);
    const manifest: BackupManifest = {
      format: 'gantry-backup-1',
      gantryVersion: GANTRY_VERSION,
      createdAt: new Date().toISOString(),
      secretKeyFingerprint: storedKeyFingerprint(path.join(staging, 'gantry.db')),
      parts: options.parts.filter((p) => existsSync(path.join(config.dataDir, p))),
      secretKeyIncluded: options.withSecretKey,
    };
    if (options.withSecretKey) {
      if (!existsSync(keyFile)) throw new StartupError(`secret key file ${keyFile} is missing`);
      copyFileSync(keyFile, path.join(staging, 'secret.key'));
      chmodSync(path.join(staging, 'secret.key'), 0o600);
    }
    writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const partial = target + '.partial';
    // The database snapshot comes first, so every file copied after it is at least as new.
    await tar([
      '-czf',
      partial,
      '-C',
      staging,
      'manifest.json',
      'gantry.db',
      ...(options.withSecretKey ? ['secret.key'] : []),
      ...(manifest.parts.length > 0 ? ['-C', config.dataDir, ...manifest.parts] : []),
    ]);
    chmodSync(partial, 0o600);
    renameSync(partial, target);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(target + '.partial', { force: true });
  }
}

/**
 * Unpacks a backup into an empty (or missing) data directory. The secret key must be the one the
 * backup's secrets were sealed with: from the archive, from `secretKeyFrom`, or already at the
 * configured place; a different key is refused rather than restored into secrets nobody can open.
 */
export async function restoreBackup(
  config: Config,
  file: string,
  options: { secretKeyFrom?: string } = {},
): Promise<BackupManifest> {
  const archive = path.resolve(file);
  if (!existsSync(archive)) throw new StartupError(`no backup at ${archive}`);
  const db = sqliteFileOf(config.databaseUrl, config.dataDir);
  if (db === null)
    throw new StartupError(
      'gantry restore writes a SQLite database; for PostgreSQL restore the pg_dump with pg_restore and unpack the archive into the data directory',
    );
  prepareDataDir(config.dataDir);
  const present = readdirSync(config.dataDir);
  if (present.length > 0)
    throw new StartupError(
      `the data directory ${config.dataDir} is not empty (${present.slice(0, 3).join(', ')}...); restore into an empty one`,
    );
  try {
    return await unpack(config, archive, db, options);
  } catch (err) {
    // The directory was empty: leave it so, so that the next attempt may use it again.
    for (const entry of readdirSync(config.dataDir))
      rmSync(path.join(config.dataDir, entry), { recursive: true, force: true });
    throw err;
  }
}

async function unpack(
  config: Config,
  archive: string,
  db: string,
  options: { secretKeyFrom?: string },
): Promise<BackupManifest> {
  await tar(['-xzf', archive, '-C', config.dataDir]);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(config.dataDir, 'manifest.json'), 'utf8')) as BackupManifest;
    if (manifest.format !== 'gantry-backup-1') throw new Error(`unknown format ${String(manifest.format)}`);
  } catch (err) {
    throw new StartupError(`${archive} is not a Gantry backup: ${(err as Error).message}`);
  }
  rmSync(path.join(config.dataDir, 'manifest.json'));
  if (path.resolve(db) !== path.join(config.dataDir, 'gantry.db')) {
    prepareDataDir(path.dirname(db), 'database directory');
    if (existsSync(db)) throw new StartupError(`a database exists at ${db} already; restore needs none`);
    renameSync(path.join(config.dataDir, 'gantry.db'), db);
  }
  const keyFile = secretKeyFile(config);
  const restoredKey = path.join(config.dataDir, 'secret.key');
  if (options.secretKeyFrom !== undefined) {
    if (existsSync(keyFile)) throw new StartupError(`a secret key exists at ${keyFile} already`);
    copyFileSync(options.secretKeyFrom, keyFile);
    chmodSync(keyFile, 0o600);
  } else if (manifest.secretKeyIncluded && keyFile !== restoredKey) {
    if (existsSync(keyFile)) throw new StartupError(`a secret key exists at ${keyFile} already`);
    renameSync(restoredKey, keyFile);
  }
  if (manifest.secretKeyFingerprint !== null && existsSync(keyFile)) {
    const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
    if (createHash('sha256').update(key).digest('hex') !== manifest.secretKeyFingerprint)
      throw new StartupError(
        `the secret key ${keyFile} is not the one this backup's secrets were sealed with; use the key file of the server the backup came from`,
      );
  }
  return manifest;
}
