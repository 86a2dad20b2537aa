import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  moveInto,
  NotDirectoryError,
  openRegularFile,
  PathEscapeError,
  pinDirectory,
  pinEntry,
  removeContentsAt,
} from './pinned-path.ts';

function fixture(): { root: string; host: string; done: () => void } {
  const base = mkdtempSync(path.join(tmpdir(), 'gantry-pin-'));
  const root = path.join(base, 'fs');
  const host = path.join(base, 'host');
  mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
  mkdirSync(host);
  writeFileSync(path.join(host, 'marker'), 'host\n');
  writeFileSync(path.join(root, 'a', 'b', 'inside.txt'), 'inside\n');
  return { root, host, done: () => rmSync(base, { recursive: true, force: true }) };
}

test('a pinned directory stays the directory that was checked when its path is swapped for a link', () => {
  const { root, host, done } = fixture();
  try {
    const pinned = pinDirectory(root, 'a/b');
    renameSync(path.join(root, 'a', 'b'), path.join(root, 'a', 'moved'));
    symlinkSync(host, path.join(root, 'a', 'b'));
    // What a mount of hostPath (or any open through it) sees is the original directory.
    assert.deepEqual(readdirSync(pinned.hostPath), ['inside.txt']);
    assert.equal(readFileSync(path.join(pinned.hostPath, 'inside.txt'), 'utf8'), 'inside\n');
    pinned.close();
    // Walking again meets the link and refuses it.
    assert.throws(() => pinDirectory(root, 'a/b'), PathEscapeError);
  } finally {
    done();
  }
});

test('links are followed while they stay inside, refused when they lead out, absolute or relative', () => {
  const { root, host, done } = fixture();
  try {
    symlinkSync('a/b', path.join(root, 'inner'));
    symlinkSync('../..', path.join(root, 'a', 'up'));
    symlinkSync(host, path.join(root, 'out'));
    symlinkSync(path.join(root, 'a'), path.join(root, 'absolute-inside'));
    const inner = pinDirectory(root, 'inner');
    assert.deepEqual(readdirSync(inner.hostPath), ['inside.txt']);
    inner.close();
    const abs = pinDirectory(root, 'absolute-inside/b');
    assert.deepEqual(readdirSync(abs.hostPath), ['inside.txt']);
    abs.close();
    assert.throws(() => pinDirectory(root, 'a/up'), PathEscapeError);
    assert.throws(
      () => pinDirectory(root, 'out'),
      /leaves the pipeline filesystem \(through a symbolic link\)/,
    );
    assert.throws(() => pinDirectory(root, 'out/new', { create: true }), PathEscapeError);
    assert.throws(() => pinDirectory(root, '../x'), PathEscapeError);
    assert.deepEqual(readdirSync(host), ['marker'], 'nothing was created in the host directory');
  } finally {
    done();
  }
});

test('creating missing directories never follows a link planted on the way', () => {
  const { root, host, done } = fixture();
  try {
    const made = pinDirectory(root, 'new/deeper', { create: true });
    assert.deepEqual(readdirSync(path.join(root, 'new')), ['deeper']);
    made.close();
    symlinkSync(host, path.join(root, 'planted'));
    assert.throws(() => pinDirectory(root, 'planted/x', { create: true }), PathEscapeError);
    assert.deepEqual(readdirSync(host), ['marker']);
  } finally {
    done();
  }
});

test('files: a link, a FIFO or a directory is not read as a file; moveInto replaces only regular files', () => {
  const { root, host, done } = fixture();
  try {
    symlinkSync(path.join(host, 'marker'), path.join(root, 'link.txt'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    const dir = pinDirectory(root, '');
    assert.throws(() => openRegularFile(dir.entry('link.txt'), 'link.txt'), PathEscapeError);
    assert.throws(() => openRegularFile(dir.entry('fifo'), 'fifo'), NotDirectoryError);
    assert.throws(() => openRegularFile(dir.entry('a'), 'a'), NotDirectoryError);
    dir.close();

    const temp = path.join(path.dirname(root), 'temp.tar');
    writeFileSync(temp, 'tar');
    const target = pinEntry(root, 'a/b/exp.tar', { createParents: true });
    // The directory is swapped for a link to the host after it was pinned: the file still lands inside.
    renameSync(path.join(root, 'a', 'b'), path.join(root, 'a', 'moved'));
    symlinkSync(host, path.join(root, 'a', 'b'));
    moveInto(temp, target, 'a/b/exp.tar');
    target.dir.close();
    assert.equal(readFileSync(path.join(root, 'a', 'moved', 'exp.tar'), 'utf8'), 'tar');
    assert.deepEqual(readdirSync(host), ['marker']);

    writeFileSync(temp, 'tar');
    const onDir = pinEntry(root, 'a/moved', {});
    assert.throws(() => moveInto(temp, onDir, 'a/moved'), NotDirectoryError);
    onDir.dir.close();
  } finally {
    done();
  }
});

test('emptying the work tree while a directory is swapped for a link to a host directory never reaches it', async () => {
  const base = mkdtempSync(path.join(tmpdir(), 'gantry-empty-race-'));
  const tree = path.join(base, 'fs');
  const host = path.join(base, 'host');
  mkdirSync(tree);
  mkdirSync(host);
  const markers = Array.from({ length: 20 }, (_, i) => `marker-${i}`);
  for (const m of markers) writeFileSync(path.join(host, m), 'host data');
  // The "container": flips tree/d between a full directory and a link to the host directory, forever.
  const swapper = spawn(
    'bash',
    [
      '-c',
      `cd '${tree}'; while true; do rm -rf d; mkdir -p d/sub; for i in 1 2 3 4 5 6 7 8; do echo x > d/f$i; done; rm -rf d; ln -s '${host}' d; done`,
    ],
    { stdio: 'ignore' },
  );
  try {
    const root = pinDirectory(tree, '');
    try {
      for (let i = 0; i < 300; i += 1) {
        try {
          await removeContentsAt(root.fd);
        } catch (err) {
          // "keeps changing" is an acceptable outcome under this abuse; reaching the host is not.
          if (!/keeps changing/.test((err as Error).message)) throw err;
        }
        assert.deepEqual(
          readdirSync(host).sort(),
          [...markers].sort(),
          `round ${i}: the host directory changed`,
        );
      }
    } finally {
      root.close();
    }
  } finally {
    swapper.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  }
});
