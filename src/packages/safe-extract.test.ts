import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { tarOf } from '../../test/support/archives.ts';
import { PackageFiles } from './package-files.ts';
import { ArchiveError, entryPath, extractArchive, symlinkStaysInside } from './safe-extract.ts';

test('entryPath keeps relative names and refuses absolute ones and ".."', () => {
  assert.equal(entryPath('./a/b.txt'), 'a/b.txt');
  assert.equal(entryPath('a//b/'), 'a/b');
  assert.equal(entryPath('./'), '');
  assert.throws(() => entryPath('/etc/passwd'), ArchiveError);
  assert.throws(() => entryPath('a/../../b'), ArchiveError);
  assert.throws(() => entryPath('..'), ArchiveError);
});

test('symlinkStaysInside: leading ".." up to the link\'s depth, never after a name, never absolute', () => {
  const inside: [string, string][] = [
    ['l', 'hello.txt'],
    ['l', '.'],
    ['a/l', '../x'],
    ['a/b/l', '../../x'],
    ['a/b/l', '..'],
    ['l', 'dir/file'],
  ];
  const outside: [string, string][] = [
    ['l', '..'],
    ['l', '../x'],
    ['a/l', '../../x'],
    ['l', '/etc'],
    ['l', 'd/..'],
    ['a/l', 'x/../..'],
    ['l', ''],
  ];
  for (const [link, target] of inside)
    assert.equal(symlinkStaysInside(link, target), true, `${link} -> ${target}`);
  for (const [link, target] of outside)
    assert.equal(symlinkStaysInside(link, target), false, `${link} -> ${target}`);
});

test('extractArchive stops at the size and entry limits', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-extract-'));
  try {
    const archive = path.join(dir, 'a.tar');
    writeFileSync(
      archive,
      await tarOf([
        { name: 'a.txt', content: 'x'.repeat(600) },
        { name: 'b.txt', content: 'y'.repeat(600) },
      ]),
    );
    const big = await extractArchive(archive, false, mkdtempSync(path.join(dir, 'out-')), {
      maxBytes: 1000,
      maxEntries: 10,
    }).catch((err: unknown) => err);
    assert.ok(big instanceof ArchiveError && big.tooLarge, String(big));
    const many = await extractArchive(archive, false, mkdtempSync(path.join(dir, 'out-')), {
      maxBytes: 10_000,
      maxEntries: 1,
    }).catch((err: unknown) => err);
    assert.ok(many instanceof ArchiveError && many.tooLarge, String(many));
    const out = mkdtempSync(path.join(dir, 'out-'));
    assert.deepEqual(await extractArchive(archive, false, out, { maxBytes: 1200, maxEntries: 2 }), {
      size: 1200,
      entries: 2,
    });
    assert.equal(readFileSync(path.join(out, 'b.txt'), 'utf8'), 'y'.repeat(600));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PackageFiles.stage refuses an upload over the limit and leaves nothing staged', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-stage-'));
  try {
    const files = new PackageFiles(dir, { uploadBytes: 4096, extractedBytes: 1 << 20, entries: 100 });
    const tooBig = await files
      .stage(Readable.from([await tarOf([{ name: 'a.txt', content: 'x'.repeat(5000) }])]))
      .catch((err: unknown) => err);
    assert.ok(tooBig instanceof ArchiveError && tooBig.tooLarge, String(tooBig));
    const staged = await files.stage(Readable.from([await tarOf([{ name: 'a.txt', content: 'small' }])]));
    assert.equal(staged.size, 5);
    assert.equal(staged.format, 'tar');
    await files.commit(staged, 'pkg00000', 'ver00000');
    assert.equal(readFileSync(path.join(files.versionDir('pkg00000', 'ver00000'), 'a.txt'), 'utf8'), 'small');
    assert.equal(await files.hasVersion('pkg00000', 'ver00000'), true);
    await files.removeVersion('pkg00000', 'ver00000');
    assert.equal(await files.hasVersion('pkg00000', 'ver00000'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
