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

test('base64 of a secret inside other bytes is masked at every alignment (Basic auth, docker config)', () => {
  const secret = 'S3cr3t-XYZ-12345';
  const mask = secretMasker([secret]);
  for (const before of ['', 'u', 'us', 'usr', 'user:', 'x'.repeat(7)])
    for (const after of ['', '!', '!!', '!!!', '\n']) {
      const encoded = Buffer.from(before + secret + after).toString('base64');
      const masked = mask(`Authorization: Basic ${encoded}`);
      assert.match(masked, /\*\*\*/, `"${before}" + secret + "${JSON.stringify(after)}"`);
      // Nothing left of the encoding decodes back to the secret, nor to most of it.
      for (const piece of masked.split('***'))
        assert.ok(
          !Buffer.from(piece.replace(/^.*Basic /, ''), 'base64')
            .toString('latin1')
            .includes('3t-XYZ'),
        );
    }
  // The docker config.json shape: {"auths":{"r":{"auth":"base64(user:secret)"}}}
  const auth = Buffer.from(`deploy:${secret}`).toString('base64');
  assert.doesNotMatch(mask(`{"auths":{"r":{"auth":"${auth}"}}}`), /12345|M3Qt/);
  // base64url too.
  const urlSafe = Buffer.from('>>' + secret + '??').toString('base64url');
  assert.match(mask(urlSafe), /\*\*\*/);
});

test('URL-encoded and JSON-escaped forms of a secret are masked', () => {
  const secret = 'p@ss w/rd"\\é&=1';
  const mask = secretMasker([secret]);
  for (const shown of [
    `https://u:${encodeURIComponent(secret)}@host/`,
    `q=${encodeURIComponent(secret).replace(/%20/g, '+')}`,
    `q=${encodeURIComponent(secret).toLowerCase()}`,
    JSON.stringify({ token: secret }),
    JSON.stringify({ token: secret }).replace(/\//g, '\\/'),
    `{"token":"p@ss w\\/rd\\"\\\\\\u00e9&=1"}`,
  ]) {
    const masked = mask(shown);
    assert.match(masked, /\*\*\*/, shown);
    assert.doesNotMatch(masked, /rd/, `${shown} → ${masked}`);
  }
  // A multi-line secret is one line once JSON-escaped.
  const key = '-----BEGIN KEY-----\nabcdef\n-----END KEY-----';
  assert.equal(secretMasker([key])(JSON.stringify({ key })), '{"key":"***"}');
});

test('overlapping secrets are masked as one span, leaving no part of either', () => {
  const mask = secretMasker(['abcdef', 'defghi']);
  assert.equal(mask('>abcdefghi<'), '>***<');
  assert.equal(mask('x defghi abcdef'), 'x *** ***');
});
