import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeVariableLevels, parseOutputs, substitute } from './variables.ts';

test('substitute follows Buddy naming rule and leaves unknown names', () => {
  const vars = new Map([
    ['BUDDY_EXECUTION_ID', '7'],
    ['containerUser', 'notRoot'],
  ]);
  assert.equal(substitute('release-$BUDDY_EXECUTION_ID-staging', vars), 'release-7-staging');
  assert.equal(substitute('$containerUser', vars), 'notRoot');
  assert.equal(substitute('$containerUserX', vars), '$containerUserX');
  assert.equal(substitute('$UNKNOWN and $', vars), '$UNKNOWN and $');
});

test('later levels win', () => {
  const merged = mergeVariableLevels([
    [{ key: 'A', value: 'pipeline', encrypted: false }],
    [
      { key: 'A', value: 'execution', encrypted: false },
      { key: 'B', value: 'b', encrypted: true },
    ],
  ]);
  assert.equal(merged.get('A')?.value, 'execution');
  assert.equal(merged.get('B')?.encrypted, true);
});

test('parseOutputs reads KEY=value lines and ignores the rest', () => {
  const out = parseOutputs(
    'VERSION=1.2.3\nexport NAME="hello world"\n# comment\nnot a line\nVERSION=1.2.4\n',
  );
  assert.deepEqual(
    [...out],
    [
      ['VERSION', '1.2.4'],
      ['NAME', 'hello world'],
    ],
  );
});
