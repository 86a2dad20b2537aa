import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onInterrupt } from './interrupt-cleanup.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static-json-server.ts');

export interface StaticJsonServer {
  pid: number;
  baseUrl: string;
  stop(): Promise<void>;
}

/** Starts static-json-server.ts as a child process serving `bodies` (url → exact body text). */
export async function startStaticJsonServer(bodies: Record<string, string>): Promise<StaticJsonServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-http-'));
  const file = path.join(dir, 'bodies.json');
  writeFileSync(file, JSON.stringify(bodies));
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const forget = onInterrupt(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`static-json-server exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
      forget();
    },
  };
}
