import { closeSync, createReadStream, fstatSync, readFileSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { NotFoundError, openRegularFile, pinDirectory, type PinnedDirectory } from './pinned-path.ts';

/** Name the Dockerfile gets inside the context archive, so one outside the context works too. */
export const CONTEXT_DOCKERFILE = '.gantry.Dockerfile';

/**
 * Compiles .dockerignore patterns (Docker's rules, simplified: `*`, `?`, `**`, `!` exceptions, the last
 * matching pattern wins; a pattern matching a directory excludes what is in it).
 */
export function dockerignoreMatcher(text: string): (relPath: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
      const regex = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      return { negate, re: new RegExp(`^${regex}(/.*)?$`) };
    });
  return (relPath) => {
    let excluded = false;
    for (const rule of rules) if (rule.re.test(relPath)) excluded = !rule.negate;
    return excluded;
  };
}

/**
 * Streams the pinned directory `context` as a tar archive for the engine: symlinks are kept as links (never
 * followed, so a link cannot pull host files into an image), .dockerignore is honoured, and the Dockerfile's
 * content is added as CONTEXT_DOCKERFILE. Every directory is entered by descriptor with O_NOFOLLOW and every
 * file opened without following a link (see pinned-path.ts), so a running container swapping a directory for
 * a link cannot make it read the host. Takes ownership of `context` and closes it when done.
 */
export async function packBuildContext(context: PinnedDirectory, dockerfile: Buffer): Promise<Readable> {
  const archive = pack();
  let ignoreText = '';
  try {
    const fd = openRegularFile(context.entry('.dockerignore'), '.dockerignore');
    try {
      ignoreText = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (!(err instanceof NotFoundError)) {
      context.close();
      throw err;
    }
  }
  const ignored = dockerignoreMatcher(ignoreText);
  const walk = async (dir: PinnedDirectory, rel: string): Promise<void> => {
    for (const name of (await readdir(`/proc/self/fd/${dir.fd}`)).sort()) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      if (ignored(relPath)) continue;
      const entry = dir.entry(name);
      const stat = await lstat(entry);
      const header = { name: relPath, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: 0, gid: 0 };
      if (stat.isSymbolicLink())
        archive.entry({ ...header, type: 'symlink', linkname: await readlink(entry) });
      else if (stat.isDirectory()) {
        archive.entry({ ...header, name: relPath + '/', type: 'directory' });
        const sub = pinDirectory(`/proc/self/fd/${dir.fd}`, name);
        try {
          await walk(sub, relPath);
        } finally {
          sub.close();
        }
      } else if (stat.isFile()) {
        const fd = openRegularFile(entry, relPath);
        const size = fstatSync(fd).size;
        if (size === 0) {
          closeSync(fd);
          archive.entry({ ...header, size }, Buffer.alloc(0));
          continue;
        }
        // Streamed entry by entry, so a large file never sits in memory whole.
        await new Promise<void>((resolve, reject) => {
          const tarEntry = archive.entry({ ...header, size }, (err) => (err ? reject(err) : resolve()));
          createReadStream('', { fd, end: size - 1 })
            .on('error', reject)
            .pipe(tarEntry);
        });
      }
    }
  };
  void (async () => {
    try {
      await walk(context, '');
      archive.entry({ name: CONTEXT_DOCKERFILE, mode: 0o644 }, dockerfile);
      archive.finalize();
    } catch (err) {
      archive.destroy(err as Error);
    } finally {
      context.close();
    }
  })();
  return archive as unknown as Readable;
}
