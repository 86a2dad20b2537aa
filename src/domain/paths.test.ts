import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confinePath, parseVolumeMapping, staysInside } from './paths.ts';

test('confinePath keeps paths under the root', () => {
  assert.equal(confinePath('/fs', '/a/b'), '/fs/a/b');
  assert.equal(confinePath('/fs', 'a/../b'), '/fs/b');
  assert.equal(confinePath('/fs', '/'), '/fs');
  assert.equal(confinePath('/fs', '../../etc'), '/fs/etc');
});

test('staysInside refuses climbing out', () => {
  assert.equal(staysInside('/'), true);
  assert.equal(staysInside('a/b/../c'), true);
  assert.equal(staysInside('../x'), false);
  assert.equal(staysInside('/a/../../etc'), false);
  assert.equal(staysInside('a\0b'), false);
});

test('parseVolumeMapping', () => {
  assert.deepEqual(parseVolumeMapping('/:/buddy/mount/directory'), {
    source: '/',
    target: '/buddy/mount/directory',
  });
  assert.equal(typeof parseVolumeMapping('nocolon'), 'string');
  assert.equal(typeof parseVolumeMapping('../etc:/x'), 'string');
  assert.equal(typeof parseVolumeMapping('/a:relative'), 'string');
  assert.equal(typeof parseVolumeMapping(':/x'), 'string');
});
