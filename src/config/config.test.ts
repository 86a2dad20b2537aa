import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, DEFAULTS, envName, loadConfig } from './config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gantry-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `content` (an object as JSON, or raw text) to a fresh config file and returns its path. */
function configFile(content: unknown): string {
  const file = path.join(dir, `config-${(files += 1)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function refused(load: () => unknown, mentions: RegExp): void {
  assert.throws(load, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.match(err.message, mentions);
    return true;
  });
}

describe('loadConfig', () => {
  test('list settings come from the environment comma-separated', () => {
    const c = loadConfig({
      env: {
        GANTRY_ALLOWED_REPOSITORY_HOSTS: 'git.internal, 10.0.0.0/8,',
        GANTRY_ALLOWED_REPOSITORY_ROOTS: '/srv/git',
      },
    });
    assert.deepEqual(c.allowedRepositoryHosts, ['git.internal', '10.0.0.0/8']);
    assert.deepEqual(c.allowedRepositoryRoots, ['/srv/git']);
    assert.deepEqual(loadConfig().allowedRepositoryHosts, [], 'nothing internal is open by default');
  });

  test('defaults alone give a complete, frozen configuration', () => {
    const c = loadConfig();
    assert.equal(c.port, DEFAULTS.port);
    assert.equal(c.host, DEFAULTS.host);
    assert.equal(c.dataDir, path.resolve(DEFAULTS.dataDir));
    assert.equal(c.publicUrl, `http://${DEFAULTS.host}:${DEFAULTS.port}`);
    assert.ok(Object.isFrozen(c));
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
  });

  test('layers: defaults < file < environment < flags', () => {
    const file = configFile({ host: '0.0.0.0', port: 1001, networkMode: 'bridge', logLevel: 'warn' });
    const env = { GANTRY_PORT: '1002', GANTRY_NETWORK_MODE: 'host' };
    const c = loadConfig({ file, env, flags: { networkMode: 'custom', dataDir: undefined } });
    assert.equal(c.logLevel, 'warn', 'file over default');
    assert.equal(c.host, '0.0.0.0', 'file over default');
    assert.equal(c.port, 1002, 'environment over file');
    assert.equal(c.networkMode, 'custom', 'flag over environment');
    assert.equal(c.dataDir, path.resolve(DEFAULTS.dataDir), 'an undefined flag does not override');
    assert.equal(c.cancelGraceSeconds, DEFAULTS.cancelGraceSeconds, 'default where nothing is set');
    assert.equal(c.publicUrl, 'http://0.0.0.0:1002');
  });

  test('GANTRY_CONFIG names the file; an explicit file wins over it', () => {
    const fromEnv = configFile({ port: 2001 });
    const explicit = configFile({ port: 2002 });
    assert.equal(loadConfig({ env: { GANTRY_CONFIG: fromEnv } }).port, 2001);
    assert.equal(loadConfig({ file: explicit, env: { GANTRY_CONFIG: fromEnv } }).port, 2002);
  });

  test('every key has a GANTRY_* variable', () => {
    assert.equal(envName('dataDir'), 'GANTRY_DATA_DIR');
    assert.equal(envName('maxConcurrentExecutions'), 'GANTRY_MAX_CONCURRENT_EXECUTIONS');
    const c = loadConfig({
      env: {
        GANTRY_DATA_DIR: '/srv/gantry',
        GANTRY_MAX_CONCURRENT_EXECUTIONS: '7',
        GANTRY_LOG_LEVEL: 'debug',
      },
    });
    assert.equal(c.dataDir, '/srv/gantry');
    assert.equal(c.maxConcurrentExecutions, 7);
    assert.equal(c.logLevel, 'debug');
  });

  test('unknown keys are refused in the file, the environment and the flags', () => {
    refused(() => loadConfig({ file: configFile({ prot: 8080 }) }), /prot/);
    refused(() => loadConfig({ env: { GANTRY_PROT: '8080' } }), /GANTRY_PROT/);
    refused(() => loadConfig({ flags: { prot: 8080 } }), /prot/);
    // Names every object inherits are not configuration keys either.
    refused(() => loadConfig({ file: configFile({ toString: 'x' }) }), /toString/);
    refused(() => loadConfig({ file: configFile('{"__proto__": {"port": 1}}') }), /__proto__/);
    refused(() => loadConfig({ file: configFile({ constructor: 1 }) }), /constructor/);
    // Other programs' variables are none of our business.
    assert.equal(loadConfig({ env: { PORT: 'x', GANTRYPORT: 'x', HOME: '/root' } }).port, DEFAULTS.port);
  });

  test('types and ranges are validated', () => {
    refused(() => loadConfig({ file: configFile({ port: '8080' }) }), /port/);
    refused(() => loadConfig({ file: configFile({ port: 70000 }) }), /port/);
    refused(
      () => loadConfig({ file: configFile({ maxConcurrentExecutions: 0 }) }),
      /maxConcurrentExecutions/,
    );
    refused(() => loadConfig({ file: configFile({ cancelGraceSeconds: 1.5 }) }), /cancelGraceSeconds/);
    refused(() => loadConfig({ file: configFile({ dataDir: null }) }), /dataDir/);
    refused(() => loadConfig({ file: configFile({ logLevel: 'loud' }) }), /logLevel/);
    refused(() => loadConfig({ env: { GANTRY_LOG_LEVEL: 'loud' } }), /logLevel/);
    refused(() => loadConfig({ env: { GANTRY_PORT: 'abc' } }), /port/);
    refused(() => loadConfig({ flags: { port: Number.NaN } }), /port/);
    refused(() => loadConfig({ flags: { publicUrl: 'ftp://ci.example.test' } }), /publicUrl/);
  });

  test('numbers from the environment must be written as plain integers', () => {
    // Number() would read these as 0, 8080 and 1000: a typo must not pick a port silently.
    for (const text of ['', '   ', '0x1F90', '1e3', '80.0', '8080abc']) {
      refused(() => loadConfig({ env: { GANTRY_PORT: text } }), /port/);
    }
    assert.equal(loadConfig({ env: { GANTRY_PORT: '9090' } }).port, 9090);
    assert.equal(loadConfig({ env: { GANTRY_PORT: '0' } }).port, 0);
  });

  test('a config file that cannot be read or is not a JSON object is refused', () => {
    refused(() => loadConfig({ file: path.join(dir, 'missing.json') }), /missing\.json/);
    refused(() => loadConfig({ file: configFile('{"port": ') }), /not valid/);
    refused(() => loadConfig({ file: configFile('[1, 2]') }), /JSON object/);
    refused(() => loadConfig({ file: configFile('null') }), /JSON object/);
  });

  test('publicUrl is normalised and relative data directories are resolved', () => {
    const c = loadConfig({
      flags: { publicUrl: 'https://ci.example.test/gantry///', dataDir: 'relative/data' },
    });
    assert.equal(c.publicUrl, 'https://ci.example.test/gantry');
    assert.equal(c.dataDir, path.resolve('relative/data'));
  });
});
