import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './harness.ts';

export interface TestRegistry {
  /** "127.0.0.1:<port>" — the engine treats loopback registries as plain HTTP. */
  host: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's docker-registry on 127.0.0.1 with htpasswd (bcrypt) authentication and waits until
 * it answers. Needs the packages installed by scripts/setup-test-tools.sh.
 */
export async function startRegistry(
  username = 'ci-user',
  password = 'registry-pass-7Q',
): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-registry-'));
  const port = await freePort();
  const htpasswd = execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' });
  writeFileSync(path.join(dir, 'htpasswd'), htpasswd);
  writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'auth:',
      '  htpasswd:',
      '    realm: gantry-test',
      `    path: ${path.join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 401) break; // up, and asking for credentials
    } catch {
      // not listening yet
    }
    if (i > 100 || child.exitCode !== null) throw new Error(`registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    username,
    password,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
