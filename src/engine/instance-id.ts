import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The file in a data directory that names the server installation using it. */
export const INSTANCE_ID_FILE = 'instance-id';

const ID = /^[0-9a-f]{16}$/;

/**
 * Which Gantry installation this data directory belongs to: the `gantry.instance` label on its
 * containers and volumes, and its local runner's session (`local:<id>`) on the executions it claims.
 * Random, written to `<dataDir>/instance-id` at the first start and read from there afterwards, so that
 * servers sharing a database are told apart even when each keeps its data at the same path on its own
 * machine.
 *
 * Before this file existed the id was derived from the data directory's path; `former` is that id on
 * the start that writes the file (null otherwise), so that this start still recovers the runs and
 * removes the containers the previous version left under it.
 */
export function instanceIdOf(dataDir: string): { id: string; former: string | null } {
  const file = path.join(dataDir, INSTANCE_ID_FILE);
  const stored = readId(file);
  if (stored !== null) return { id: stored, former: null };
  const id = randomBytes(8).toString('hex');
  // Written whole under another name and linked into place: a process reading it never sees it half
  // written, and of two processes starting on one data directory the first link wins.
  const draft = `${file}.${id}`;
  writeFileSync(draft, `${id}\n`, { mode: 0o644 });
  try {
    linkSync(draft, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { id: readId(file) ?? invalid(file), former: null };
  } finally {
    rmSync(draft, { force: true });
  }
  return { id, former: createHash('sha256').update(dataDir).digest('hex').slice(0, 16) };
}

function readId(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return ID.test(text) ? text : invalid(file);
}

function invalid(file: string): never {
  throw new Error(
    `${file} must hold 16 hexadecimal digits (this installation's id); remove it to get a new one`,
  );
}
