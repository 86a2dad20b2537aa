import { execFileSync } from 'node:child_process';

/**
 * Cleanup that must also happen when a benchmark is interrupted (Ctrl-C, SIGTERM), where `finally` blocks
 * never run: tasks are synchronous (kill a child, remove a directory, force-remove containers) and run
 * in reverse order of registration.
 */
const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const task of [...tasks].reverse()) {
    try {
      task();
    } catch {
      // best effort: the process is going away
    }
  }
  tasks.clear();
}

/** Registers `task` for an interruption; returns a function that unregisters it (call it once done normally). */
export function onInterrupt(task: () => void): () => void {
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`\n${signal}: cleaning up\n`);
        runAll();
        process.exit(130);
      });
    }
  }
  tasks.add(task);
  return () => tasks.delete(task);
}

/** Force-removes the containers carrying `label` (key=value) with the docker CLI, synchronously. */
export function removeContainersSync(label: string): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}
