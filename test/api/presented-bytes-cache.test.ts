import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PresentedBytesCache } from '../../src/api/present/json-cache.ts';

test('bytes are reused only while every input reads the same', () => {
  const cache = new PresentedBytesCache<string>();
  let builds = 0;
  const build = (text: string) => () => {
    builds += 1;
    return text;
  };
  const first = cache.bytes('k', [1, 'a', null], build('{"a":"é"}'));
  assert.equal(first.toString(), '{"a":"é"}');
  assert.equal(cache.bytes('k', [1, 'a', null], build('other')), first);
  assert.equal(builds, 1);
  assert.equal(cache.bytes('k', [1, 'b', null], build('{"b":1}')).toString(), '{"b":1}');
  assert.equal(cache.bytes('k', [1, 'b'], build('{"short":1}')).toString(), '{"short":1}');
  assert.equal(builds, 3);
  assert.equal(cache.size, 1);
});

test('the cache holds at most maxBytes: the oldest entries go, a body larger than that is not kept', () => {
  const cache = new PresentedBytesCache<number>(10);
  cache.bytes(1, [], () => '1234');
  cache.bytes(2, [], () => '5678');
  assert.equal(cache.size, 2);
  cache.bytes(3, [], () => 'abcd');
  assert.equal(cache.size, 2);
  let rebuilt = false;
  cache.bytes(1, [], () => {
    rebuilt = true;
    return '1234';
  });
  assert.ok(rebuilt, 'the oldest entry was dropped');
  assert.equal(cache.bytes(4, [], () => 'x'.repeat(11)).length, 11);
  assert.equal(cache.size, 2);
});
