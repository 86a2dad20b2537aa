import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, rootRunStep, type BaseImageConfig } from './dockerfile-user.ts';

const rootImage: BaseImageConfig = { user: '', onBuild: [] };

function check(
  dockerfile: string,
  images: Record<string, BaseImageConfig | null> = { base: rootImage },
  buildArgs: Record<string, string> = {},
): string | null {
  return rootRunStep(parseDockerfile(dockerfile, buildArgs), new Map(Object.entries(images)));
}

test('a RUN step is allowed only after a numeric non-zero USER', () => {
  assert.match(check('FROM base\nRUN id\n')!, /line 2: RUN would run as root/);
  assert.equal(check('FROM base\nUSER 1000\nRUN id\n'), null);
  assert.equal(check('from base\nuser 1000:0\nrun id\n'), null, 'keywords in any case; gid 0 is not uid 0');
  assert.match(check('FROM base\nUSER 1000\nUSER root\nRUN id\n')!, /"root" \(a name/);
  assert.match(check('FROM base\nUSER 0:1000\nRUN id\n')!, /uid 0/);
  assert.match(check('FROM base\nUSER nobody\nRUN id\n')!, /a name/);
  assert.match(check('FROM base\nUSER ${U}\nRUN id\n')!, /a variable/);
  assert.equal(check('FROM base\nCOPY . /\nCMD ["id"]\n'), null, 'no RUN, nothing runs');
});

test("the base image's user, ONBUILD triggers and earlier stages count", () => {
  assert.equal(check('FROM base\nRUN id\n', { base: { user: '1000', onBuild: [] } }), null);
  assert.match(check('FROM base\nRUN id\n', { base: { user: 'node', onBuild: [] } })!, /"node"/);
  assert.match(
    check('FROM base\nUSER 1000\nRUN id\n', { base: { user: '', onBuild: ['RUN id'] } })!,
    /line 1: RUN would run as root/,
  );
  assert.match(check('FROM missing\nUSER 1000\nRUN id\n', { missing: null })!, /not on the engine/);
  assert.equal(check('FROM base AS one\nUSER 1000\nFROM one\nRUN id\n'), null);
  assert.match(check('FROM base AS one\nUSER 1000\nFROM base\nRUN id\n')!, /line 4/);
  assert.match(check('FROM scratch\nRUN id\n', {})!, /root/);
});

test('continuations, comments, the escape directive and ARGs in FROM', () => {
  assert.match(check('FROM base\nUSER 1000\nUSER \\\n  0\nRUN id\n')!, /line 5.*"0" \(uid 0\)/);
  assert.match(check('# escape=`\nFROM base\nUSER 1000\nUSER `\n 0\nRUN id\n')!, /uid 0/);
  assert.equal(check('FROM base\n# USER 0\nUSER 1000\nRUN echo \\\n# a comment\n  hi\n'), null);
  assert.equal(check('ARG IMG=base\nFROM $IMG\nUSER 1000\nRUN id\n'), null);
  assert.equal(
    check('ARG IMG\nFROM ${IMG}\nUSER 1000\nRUN id\n', { other: rootImage }, { IMG: 'other' }),
    null,
  );
  assert.match(check('FROM ${NOPE}\nRUN id\n')!, /not known before the build/);
  assert.deepEqual(parseDockerfile('FROM --platform=linux/amd64 base AS b\nFROM b\n', {}).baseImages, [
    'base',
  ]);
});
