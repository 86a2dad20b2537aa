import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';

/**
 * Import this module before `dockerode` (its only effect): two parts of dockerode load on first use
 * instead of when dockerode loads.
 *
 * - `docker-modem/lib/ssh.js` loads `ssh2` (and its ciphers, a 16 MB WebAssembly heap among them), needed
 *   only for an `ssh://` Docker host.
 * - `dockerode/lib/session.js` loads `@grpc/grpc-js`, `@grpc/proto-loader` and `protobufjs`, needed only
 *   for BuildKit sessions (`buildImage` with `version: '2'`, which Gantry does not use).
 *
 * Loaded up front they were about 12 MB of an idle server's resident memory and a fifth of a second of
 * its start. Each file exports one function; it is replaced, in Node's module cache, by a function that
 * loads the real file at its first call and hands the call on. A dockerode whose layout differs (a file
 * moved or no longer one function) is left as it is.
 */
const require = createRequire(import.meta.url);

function loadOnFirstCall(file: string): void {
  if (require.cache[file]) return;
  let real: ((...args: unknown[]) => unknown) | null = null;
  const load = (): ((...args: unknown[]) => unknown) => {
    delete require.cache[file];
    const loaded: unknown = require(file);
    if (typeof loaded !== 'function') throw new Error(`${file} no longer exports a function`);
    return loaded as (...args: unknown[]) => unknown;
  };
  const stand = new Module(file);
  stand.filename = file;
  stand.loaded = true;
  stand.exports = function (this: unknown, ...args: unknown[]): unknown {
    real ??= load();
    return real.apply(this, args);
  };
  require.cache[file] = stand;
}

function exportsOneFunction(file: string): boolean {
  // Cheap and sufficient: these files end with `module.exports = <function>`.
  return /module\.exports\s*=\s*(function\b|withSession\b)/.test(readFileSync(file, 'utf8'));
}

try {
  const dockerode = createRequire(require.resolve('dockerode'));
  const modem = createRequire(dockerode.resolve('docker-modem'));
  for (const file of [dockerode.resolve('./session'), modem.resolve('./ssh')])
    if (exportsOneFunction(file)) loadOnFirstCall(file);
} catch {
  // Another layout of dockerode: it loads everything itself, as before.
}
