import type { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import type { ContainerFile } from '../container-runtime.ts';

/** A tar archive (rooted at /) holding `files`, with their parent directories, for putArchive. */
export async function packFiles(files: readonly ContainerFile[]): Promise<Buffer> {
  const archive = pack();
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.path.replace(/^\/+/, '').split('/');
    for (let i = 1; i < parts.length; i += 1) {
      const dir = parts.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      // Only directories Gantry creates get the file's owner; putArchive leaves existing ones as they are.
      archive.entry({ name: dir + '/', type: 'directory', mode: 0o755, uid: file.uid, gid: file.gid });
    }
    archive.entry({ name: parts.join('/'), mode: file.mode, uid: file.uid, gid: file.gid }, file.content);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The content of the first regular file in a tar stream (getArchive of a single file). */
export async function firstFileOf(stream: Readable): Promise<Buffer | null> {
  const reader = extract();
  stream.pipe(reader);
  let found: Buffer | null = null;
  for await (const entry of reader) {
    if (found === null && entry.header.type === 'file') {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      found = Buffer.concat(chunks);
    } else entry.resume();
  }
  return found;
}
