#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4 (MB): V8's young generation may otherwise grow to 16 MB per semi-space, which
// is a third of an idle server's resident memory; short-lived objects still die young at 4 MB.
// Runs the compiled server (dist/, from `npm run build`). A checkout without a build, or one whose
// sources changed since the last build, runs the TypeScript sources through tsx instead and says so:
// a stale build must never run in place of the code beside it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/server.js`;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'web') newest = Math.max(newest, newestSource(full));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(full).mtimeMs);
    }
  }
  return newest;
}

const fresh = existsSync(built) && statSync(built).mtimeMs >= newestSource(`${root}src`);
if (fresh) {
  await import('../dist/cli/main.js');
} else {
  process.stderr.write('gantry: dist/ is missing or older than src/ (npm run build); running the sources with tsx\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
