/**
 * The Node versions package.json promises must be ones every installed package accepts: a dependency
 * declaring a newer engine (content-disposition@3 and cookie@2 wanted Node 22) breaks that promise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readJson = (file: string): any => JSON.parse(readFileSync(path.join(root, file), 'utf8'));

test('every package in the lock file accepts every Node version package.json supports', () => {
  const supported: string = readJson('package.json').engines.node;
  const lock = readJson('package-lock.json') as { packages: Record<string, { engines?: unknown }> };
  const stricter: string[] = [];
  let checked = 0;
  for (const [name, entry] of Object.entries(lock.packages)) {
    const engines = entry.engines as { node?: string } | undefined;
    if (!engines || Array.isArray(engines) || typeof engines.node !== 'string') continue;
    checked++;
    if (!semver.subset(supported, engines.node)) stricter.push(`${name} wants node ${engines.node}`);
  }
  assert.ok(checked > 10, 'the lock file lists engines');
  assert.deepEqual(stricter, [], `package.json supports node ${supported}`);
});

test('the Node running the tests is one package.json supports', () => {
  const supported: string = readJson('package.json').engines.node;
  assert.ok(semver.satisfies(process.version, supported), `${process.version} is not in ${supported}`);
});
