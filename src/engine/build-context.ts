import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';

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
 * Streams `contextDir` as a tar archive for the engine: symlinks are kept as links (never followed,
 * so a link cannot pull host files into an image), .dockerignore is honoured, and the Dockerfile's
 * content is added as CONTEXT_DOCKERFILE.
 */
export async function packBuildContext(contextDir: string, dockerfile: Buffer): Promise<Readable> {
  const archive = pack();
  let ignoreText = '';
  try {
    ignoreText = await readFile(path.join(contextDir, '.dockerignore'), 'utf8');
  } catch {
    // no .dockerignore
  }
  const ignored = dockerignoreMatcher(ignoreText);
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(contextDir, rel))).sort()) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      if (ignored(relPath)) continue;
      const full = path.join(contextDir, relPath);
      const stat = await lstat(full);
      const header = { name: relPath, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: 0, gid: 0 };
      if (stat.isSymbolicLink())
        archive.entry({ ...header, type: 'symlink', linkname: await readlink(full) });
      else if (stat.isDirectory()) {
        archive.entry({ ...header, name: relPath + '/', type: 'directory' });
        await walk(relPath);
      } else if (stat.isFile()) {
        // Streamed entry by entry, so a large file never sits in memory whole.
        await new Promise<void>((resolve, reject) => {
          const entry = archive.entry({ ...header, size: stat.size }, (err) =>
            err ? reject(err) : resolve(),
          );
          createReadStream(full).on('error', reject).pipe(entry);
        });
      }
    }
  };
  void (async () => {
    try {
      await walk('');
      archive.entry({ name: CONTEXT_DOCKERFILE, mode: 0o644 }, dockerfile);
      archive.finalize();
    } catch (err) {
      archive.destroy(err as Error);
    }
  })();
  return archive as unknown as Readable;
}
