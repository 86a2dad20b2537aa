import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secretMasker } from './mask.ts';

test('masks a secret, its base64 forms and each line of a multi-line secret', () => {
  const mask = secretMasker(['qwerty-123', 'line-one\nline-two']);
  assert.equal(mask('pass=qwerty-123!'), 'pass=***!');
  assert.equal(mask(Buffer.from('qwerty-123').toString('base64')), '***');
  assert.equal(mask(Buffer.from('qwerty-123\n').toString('base64')), '***');
  assert.equal(mask('>line-one'), '>***');
  assert.equal(mask('line-two<'), '***<');
  assert.equal(mask('nothing secret here'), 'nothing secret here');
});

test('a long secret wrapped by base64 at 76 columns is masked on every line', () => {
  const secret = 'x'.repeat(200);
  const encoded = Buffer.from(secret).toString('base64');
  const mask = secretMasker([secret]);
  for (let i = 0; i < encoded.length; i += 76) {
    const line = encoded.slice(i, i + 76);
    if (line.length === 76) assert.equal(mask(line), '***');
  }
});

test('no secrets leaves lines untouched', () => {
  assert.equal(secretMasker([])('a$b'), 'a$b');
  assert.equal(secretMasker([''])('a$b'), 'a$b');
});
