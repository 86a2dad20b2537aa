import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NeedleSearch } from './needle-search.ts';

const naive = (needles: Buffer[], haystack: Buffer): boolean => needles.some((n) => haystack.includes(n));

/** A deterministic byte source, so a failure can be replayed. */
function generator(seed: number): (max: number) => number {
  let state = seed;
  return (max) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % max;
  };
}

test('finds a long needle anywhere: first byte, last byte, across every window position', () => {
  const needle = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----');
  const other = Buffer.from('a-much-longer-needle-that-is-not-there-at-all');
  const search = new NeedleSearch([needle, other]);
  const filler = Buffer.from('0123456789'.repeat(20));
  for (let at = 0; at <= filler.length; at += 1) {
    const haystack = Buffer.concat([filler.subarray(0, at), needle, filler.subarray(at)]);
    assert.equal(search.foundIn(haystack), true, `needle at ${at}`);
  }
  assert.equal(search.foundIn(filler), false);
  assert.equal(search.foundIn(needle.subarray(0, needle.length - 1)), false, 'cut short by the end');
  assert.equal(search.foundIn(Buffer.alloc(0)), false);
});

test('a longer needle than the window is compared in full, also when it runs past the end', () => {
  const search = new NeedleSearch([Buffer.from('abcdefgh'), Buffer.from('12345678-and-more')]);
  assert.equal(search.foundIn(Buffer.from('xx12345678-and-more')), true);
  assert.equal(search.foundIn(Buffer.from('xx12345678-and-mor')), false);
  assert.equal(search.foundIn(Buffer.from('xx12345678-and-moreabcdefg')), true);
});

test('short needles are searched too, with or without long ones', () => {
  assert.equal(new NeedleSearch([Buffer.from('pw1')]).foundIn(Buffer.from('the pw1 here')), true);
  assert.equal(new NeedleSearch([Buffer.from('pw1')]).foundIn(Buffer.from('the pw2 here')), false);
  const mixed = new NeedleSearch([Buffer.from('pw1'), Buffer.from('a-long-secret-value')]);
  assert.equal(mixed.foundIn(Buffer.from('xx pw1')), true);
  assert.equal(mixed.foundIn(Buffer.from('a-long-secret-value')), true);
  assert.equal(mixed.foundIn(Buffer.from('a-long-secret-valu pw')), false);
  assert.equal(new NeedleSearch([]).foundIn(Buffer.from('anything')), false);
});

test('agrees with a search per needle on random inputs over a small alphabet (many near misses)', () => {
  const next = generator(42);
  for (let round = 0; round < 400; round += 1) {
    const alphabet = 2 + next(4);
    const word = (length: number): Buffer => Buffer.from(Array.from({ length }, () => 97 + next(alphabet)));
    const needles = Array.from({ length: 1 + next(6) }, () => word(1 + next(24)));
    const haystack = word(next(300));
    const search = new NeedleSearch(needles);
    assert.equal(search.foundIn(haystack), naive(needles, haystack), `round ${round}`);
    // And with one needle planted somewhere.
    const planted = needles[next(needles.length)]!;
    const at = next(haystack.length + 1);
    const withNeedle = Buffer.concat([haystack.subarray(0, at), planted, haystack.subarray(at)]);
    assert.equal(search.foundIn(withNeedle), true, `round ${round}, planted at ${at}`);
  }
});

test('agrees with a search per needle on random bytes, windows longer than 255', () => {
  for (let round = 0; round < 50; round += 1) {
    const needles = [randomBytes(300), randomBytes(8), randomBytes(40)];
    const haystack = Buffer.concat([randomBytes(500), needles[round % 3]!.subarray(0, 20), randomBytes(500)]);
    const search = new NeedleSearch(needles);
    assert.equal(search.foundIn(haystack), naive(needles, haystack));
    for (const needle of needles) {
      const withNeedle = Buffer.concat([haystack, needle, haystack.subarray(0, 7)]);
      assert.equal(search.foundIn(withNeedle), true);
    }
  }
});
