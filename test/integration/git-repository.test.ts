import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  EmptyRepositoryError,
  InvalidRefError,
  RevisionNotFoundError,
  changedPaths,
  checkout,
  commitInfo,
  createHostedRepository,
  defaultBranch,
  deleteRepository,
  refNameProblem,
  resolveRevision,
  syncMirror,
} from '../../src/repo/index.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gantry-git-repo-'));
const src = path.join(tmp, 'src');
const outside = path.join(tmp, 'outside');

/** Runs git in the source work tree with fixed identities and dates, so commits are predictable. */
function git(args: string[], date = '2024-03-01T10:00:00+02:00'): string {
  return execFileSync('git', args, {
    cwd: src,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Ada Author',
      GIT_AUTHOR_EMAIL: 'ada@example.com',
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: 'Carl Committer',
      GIT_COMMITTER_EMAIL: 'carl@example.com',
      GIT_COMMITTER_DATE: date,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
  }).trim();
}

const shas: { first: string; second: string; feature: string } = { first: '', second: '', feature: '' };

before(() => {
  mkdirSync(src);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'sentinel'), 'must survive');
  git(['init', '--quiet', '--initial-branch=master']);
  writeFileSync(path.join(src, 'keep.txt'), 'v1\n');
  writeFileSync(path.join(src, 'gone.txt'), 'deleted later\n');
  mkdirSync(path.join(src, 'dir'));
  writeFileSync(path.join(src, 'dir', 'nested.txt'), 'nested\n');
  symlinkSync('/etc', path.join(src, 'etc-link'));
  symlinkSync(outside, path.join(src, 'outside-link'));
  git(['add', '-A']);
  git(['commit', '--quiet', '-m', 'First commit\n\nWith a body line.\n']);
  shas.first = git(['rev-parse', 'HEAD']);
  git(['tag', '-a', 'v1.0', '-m', 'release']);
  git(['rm', '--quiet', 'gone.txt']);
  writeFileSync(path.join(src, 'keep.txt'), 'v2\n');
  writeFileSync(path.join(src, 'added.txt'), 'new\n');
  git(['add', '-A']);
  git(['commit', '--quiet', '-m', 'Second commit'], '2024-03-02T12:30:45-05:00');
  shas.second = git(['rev-parse', 'HEAD']);
  git(['checkout', '--quiet', '-b', 'feature/x', shas.first]);
  writeFileSync(path.join(src, 'feature.txt'), 'f\n');
  git(['add', '-A']);
  git(['commit', '--quiet', '-m', 'Feature']);
  shas.feature = git(['rev-parse', 'HEAD']);
  git(['checkout', '--quiet', 'master']);
});

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('mirrors', () => {
  test('syncMirror from a file:// URL and from a plain path', async () => {
    for (const [name, url] of [
      ['m-url', pathToFileURL(src).href],
      ['m-path', src],
    ] as const) {
      const mirror = path.join(tmp, name);
      await syncMirror({ mirrorPath: mirror, sourceUrl: url });
      await syncMirror({ mirrorPath: mirror, sourceUrl: url }); // second fetch into an existing mirror
      assert.equal(await defaultBranch(mirror), 'master');
      const r = await resolveRevision(mirror, { tag: 'v1.0' }, null);
      assert.equal(r.sha, shas.first);
    }
  });

  test('syncMirror prunes deleted branches and reports failures without credentials', async () => {
    const mirror = path.join(tmp, 'm-url');
    git(['branch', 'temp']);
    await syncMirror({ mirrorPath: mirror, sourceUrl: src });
    assert.equal((await resolveRevision(mirror, { branch: 'temp' }, null)).sha, shas.second);
    git(['branch', '-D', 'temp']);
    await syncMirror({ mirrorPath: mirror, sourceUrl: src });
    await assert.rejects(resolveRevision(mirror, { branch: 'temp' }, null), RevisionNotFoundError);
    await assert.rejects(
      syncMirror({ mirrorPath: mirror, sourceUrl: path.join(tmp, 'nope'), user: 'u', pass: 'hunter22' }),
      (e: Error) => !e.message.includes('hunter22'),
    );
    await assert.rejects(syncMirror({ mirrorPath: mirror, sourceUrl: 'ext::sh -c touch% /tmp/pwned' }));
    await assert.rejects(syncMirror({ mirrorPath: mirror, sourceUrl: '--upload-pack=touch /tmp/pwned' }));
  });

  test('hosted repositories: created empty on master, idempotent, deletable', async () => {
    const hosted = path.join(tmp, 'hosted.git');
    await createHostedRepository(hosted);
    await createHostedRepository(hosted);
    const head = execFileSync('git', ['--git-dir', hosted, 'symbolic-ref', 'HEAD'], { encoding: 'utf8' });
    assert.equal(head.trim(), 'refs/heads/master');
    const conf = execFileSync('git', ['--git-dir', hosted, 'config', 'http.receivepack'], {
      encoding: 'utf8',
    });
    assert.equal(conf.trim(), 'true');
    const mirror = path.join(tmp, 'm-empty');
    await syncMirror({ mirrorPath: mirror, sourceUrl: hosted });
    assert.equal(await defaultBranch(mirror), null);
    await assert.rejects(resolveRevision(mirror, {}, 'master'), EmptyRepositoryError);
    await deleteRepository(hosted);
    await deleteRepository(mirror);
    assert.equal(existsSync(hosted) || existsSync(mirror), false);
    await assert.rejects(deleteRepository(src)); // a work tree, not a git directory
  });
});

describe('revisions', () => {
  const mirror = path.join(tmp, 'm-path');

  test('HEAD, branch, tag and SHAs', async () => {
    assert.deepEqual(await resolveRevision(mirror, {}, 'master'), {
      sha: shas.second,
      branch: 'master',
      tag: null,
    });
    assert.deepEqual(await resolveRevision(mirror, { revision: 'HEAD' }, null), {
      sha: shas.second,
      branch: 'master',
      tag: null,
    });
    assert.deepEqual(await resolveRevision(mirror, { revision: 'HEAD', branch: 'feature/x' }, 'master'), {
      sha: shas.feature,
      branch: 'feature/x',
      tag: null,
    });
    assert.deepEqual(await resolveRevision(mirror, { tag: 'v1.0' }, 'master'), {
      sha: shas.first,
      branch: null,
      tag: 'v1.0',
    });
    assert.deepEqual(await resolveRevision(mirror, { revision: shas.first.slice(0, 7) }, null), {
      sha: shas.first,
      branch: 'master',
      tag: null,
    });
    assert.deepEqual(
      await resolveRevision(mirror, { revision: shas.first.toUpperCase(), branch: 'feature/x' }, null),
      {
        sha: shas.first,
        branch: 'feature/x',
        tag: null,
      },
    );
  });

  test('unknown or malformed revisions, branches and tags', async () => {
    await assert.rejects(resolveRevision(mirror, { revision: 'abc1234' }, 'master'), (e: unknown) => {
      assert.ok(e instanceof RevisionNotFoundError);
      assert.equal(e.message, 'revision "abc1234" not found in the repository');
      return true;
    });
    await assert.rejects(resolveRevision(mirror, { branch: 'nope' }, null), /branch "nope" not found/);
    await assert.rejects(
      resolveRevision(mirror, { revision: shas.first, branch: 'nope' }, null),
      /branch "nope"/,
    );
    await assert.rejects(resolveRevision(mirror, { tag: 'v9' }, null), /tag "v9" not found/);
    await assert.rejects(resolveRevision(mirror, {}, 'develop'), /branch "develop" not found/);
    await assert.rejects(resolveRevision(mirror, { revision: 'master' }, null), RevisionNotFoundError);
    for (const bad of ['--output=/tmp/x', 'a..b', 'x\ny', 'a b', 'x.lock', '.hidden', 'x@{1}']) {
      await assert.rejects(resolveRevision(mirror, { branch: bad }, null), InvalidRefError, bad);
    }
    await assert.rejects(resolveRevision(mirror, { revision: '--all' }, null), InvalidRefError);
    assert.equal(refNameProblem('feature/ok-1.2'), null);
  });

  test('commitInfo', async () => {
    assert.deepEqual(await commitInfo(mirror, shas.first.slice(0, 10)), {
      revision: shas.first,
      authorName: 'Ada Author',
      authorEmail: 'ada@example.com',
      authorDate: '2024-03-01T08:00:00Z',
      committerName: 'Carl Committer',
      committerEmail: 'carl@example.com',
      commitDate: '2024-03-01T08:00:00Z',
      message: 'First commit\n\nWith a body line.',
    });
    const second = await commitInfo(mirror, shas.second);
    assert.equal(second.message, 'Second commit');
    assert.equal(second.commitDate, '2024-03-02T17:30:45Z');
    await assert.rejects(commitInfo(mirror, 'deadbeef'), RevisionNotFoundError);
  });

  test('changedPaths', async () => {
    assert.deepEqual(await changedPaths(mirror, shas.first, shas.second), [
      'added.txt',
      'gone.txt',
      'keep.txt',
    ]);
    assert.deepEqual(await changedPaths(mirror, null, shas.first), [
      'dir/nested.txt',
      'etc-link',
      'gone.txt',
      'keep.txt',
      'outside-link',
    ]);
  });
});

describe('checkout', () => {
  const mirror = path.join(tmp, 'm-path');
  const work = path.join(tmp, 'pipeline-fs');
  const indexFile = path.join(tmp, 'pipeline-state', 'index');
  const at = (p: string): string => path.join(work, p);

  test('keeps untracked files, removes deleted ones, restores edits, never writes .git', async () => {
    await checkout({ mirrorPath: mirror, sha: shas.first, workTree: work, indexFile, clean: false });
    assert.equal(readFileSync(at('keep.txt'), 'utf8'), 'v1\n');
    assert.ok(existsSync(at('gone.txt')));
    writeFileSync(at('untracked.log'), 'from a previous run');
    writeFileSync(at('keep.txt'), 'edited by an action');

    await checkout({ mirrorPath: mirror, sha: shas.second, workTree: work, indexFile, clean: false });
    assert.equal(existsSync(at('gone.txt')), false);
    assert.equal(readFileSync(at('keep.txt'), 'utf8'), 'v2\n');
    assert.equal(readFileSync(at('added.txt'), 'utf8'), 'new\n');
    assert.equal(readFileSync(at('untracked.log'), 'utf8'), 'from a previous run');
    assert.equal(existsSync(at('.git')), false);

    // Going back also works and does not touch the mirror's refs or HEAD.
    await checkout({ mirrorPath: mirror, sha: shas.first, workTree: work, indexFile, clean: false });
    assert.equal(existsSync(at('added.txt')), false);
    assert.ok(existsSync(at('gone.txt')));
    assert.equal(await defaultBranch(mirror), 'master');
    assert.equal((await resolveRevision(mirror, {}, null)).sha, shas.second);
  });

  test('symlinks stay symlinks and a clean checkout deletes nothing outside the work tree', async () => {
    assert.ok(lstatSync(at('etc-link')).isSymbolicLink());
    assert.equal(readlinkSync(at('etc-link')), '/etc');
    assert.ok(lstatSync(at('outside-link')).isSymbolicLink());

    await checkout({ mirrorPath: mirror, sha: shas.second, workTree: work, indexFile, clean: true });
    assert.equal(existsSync(at('untracked.log')), false);
    assert.equal(readFileSync(at('keep.txt'), 'utf8'), 'v2\n');
    assert.equal(readFileSync(path.join(outside, 'sentinel'), 'utf8'), 'must survive');
    assert.ok(existsSync('/etc/passwd') || existsSync('/etc/hostname'));
    assert.equal(existsSync(at('.git')), false);
  });

  test('refuses unknown commits and an index inside the work tree', async () => {
    await assert.rejects(
      checkout({ mirrorPath: mirror, sha: 'abcdef12', workTree: work, indexFile, clean: false }),
      RevisionNotFoundError,
    );
    await assert.rejects(
      checkout({ mirrorPath: mirror, sha: shas.second, workTree: work, indexFile: at('idx'), clean: false }),
      /outside the work tree/,
    );
  });
});
