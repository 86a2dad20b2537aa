import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_MOUNTS } from '../support/harness.ts';
import { tempDirForProcess } from '../support/temp-dirs.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/gantry.js <args>` to its end. A start that hangs instead of failing is killed after
 * `killAfterMs` and shows as exit code null (a failure of the test, never a pass).
 */
export function runGantry(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; killAfterMs?: number } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/gantry.js', ...args], {
      cwd: ROOT,
      env: { ...process.env, GANTRY_CONFIG: '', ...NO_MOUNTS, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A `gantry serve` child that is still running, with its output so far. */
export interface Served {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

let configFile: string | null = null;

/** A config file letting projects name local repositories in the temp directory (custom_repo_url). */
function testConfigFile(): string {
  if (configFile === null) {
    const dir = tempDirForProcess('gantry-ops-config-');
    configFile = path.join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ allowedRepositoryRoots: [tmpdir()] }));
  }
  return configFile;
}

/** Starts `gantry serve` and resolves once it printed its banner. */
export function serveGantry(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/gantry.js', 'serve', ...args], {
      cwd: ROOT,
      env: { ...process.env, GANTRY_CONFIG: testConfigFile(), ...NO_MOUNTS, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Gantry is running.')) resolve({ child, output: () => out, exited });
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => reject(new Error(`gantry serve exited with ${code}:\n${out}`)));
  });
}
