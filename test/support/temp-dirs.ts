import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const made: string[] = [];
let hooked = false;

/**
 * A new private directory in the system's temp directory, removed when the test process exits. Each
 * test file runs in a process of its own, so fixtures that live as long as the file (a source
 * repository, a git client's home, a config file) do not pile up in /tmp run after run; a process
 * that is killed leaves its directories behind.
 */
export function tempDirForProcess(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
