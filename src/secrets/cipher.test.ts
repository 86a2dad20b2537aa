import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox, SecretKeyError } from './cipher.ts';

test('seal and open round trip without the clear text in the sealed form', () => {
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal('qwerty-secret');
  assert.ok(!sealed.includes('qwerty'));
  assert.notEqual(box.seal('qwerty-secret'), sealed, 'a fresh IV each time');
  assert.equal(box.open(sealed), 'qwerty-secret');
});

test('a different key fails loudly', () => {
  const sealed = new SecretBox(randomBytes(32)).seal('x');
  assert.throws(() => new SecretBox(randomBytes(32)).open(sealed), SecretKeyError);
});
