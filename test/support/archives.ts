import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

/** One tar entry: a file by default; `type` and `linkname` make directories, links and devices. */
export interface TarEntry {
  name: string;
  content?: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  linkname?: string;
  mode?: number;
}

/** A tar archive of `entries`, exactly as given (no path clean-up): unsafe archives are built the same way. */
export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const archive = pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    };
    if (type === 'file') archive.entry(header, e.content ?? '');
    else archive.entry(header);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function tarGzOf(entries: TarEntry[]): Promise<Buffer> {
  return gzipSync(await tarOf(entries));
}
