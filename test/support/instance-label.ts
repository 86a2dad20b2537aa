import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Labels of the servers this test process started in-process (startGantry), by data directory. */
const started = new Map<string, string>();

/** startGantry notes the label of the server it started (read back after its data directory is gone). */
export function rememberInstanceLabel(dataDir: string, label: string): void {
  started.set(dataDir, label);
}

/**
 * The `gantry.instance` label the engine puts on every container of a Gantry on `dataDir`: the id it
 * wrote to `<dataDir>/instance-id` at its first start (src/engine/instance-id.ts).
 */
export function instanceLabel(dataDir: string): string {
  return started.get(dataDir) ?? readFileSync(path.join(dataDir, 'instance-id'), 'utf8').trim();
}
