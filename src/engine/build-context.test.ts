import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerignoreMatcher } from './build-context.ts';

test('.dockerignore: globs, directories, exceptions, last match wins', () => {
  const ignored = dockerignoreMatcher('# comment\nnode_modules\n*.log\n!keep.log\ndocs/**/draft*\n');
  assert.equal(ignored('node_modules'), true);
  assert.equal(ignored('node_modules/x/y.js'), true);
  assert.equal(ignored('build.log'), true);
  assert.equal(ignored('keep.log'), false);
  assert.equal(ignored('src/app.log'), false, '* does not cross directories');
  assert.equal(ignored('docs/a/b/draft-1.md'), true);
  assert.equal(ignored('src/index.ts'), false);
  assert.equal(dockerignoreMatcher('')('anything'), false);
});
