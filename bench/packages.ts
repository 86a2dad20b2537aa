/**
 * Package version archives in the database (issue 11) against the files they replaced, in the same
 * run: a BENCH_PACKAGE_MB (default 64) MiB incompressible .tar
 *  - stored: written into the database in 1 MiB chunks (PackageStore.keep's part) against copied to a
 *    file in the data directory (what an upload did with it before);
 *  - read: streamed out of the database (download, a worker's fetch) against read from that file;
 *  - unpacked: streamed out of the database, checked (size, sha256) and extracted (a server's first run
 *    of a version it has not seen) against extracted from the file (the upload's own extraction).
 * Median of BENCH_RUNS (default 3). SQLite in a temporary data directory, and PostgreSQL too when
 * TEST_POSTGRES_URL is set (`eval "$(bash scripts/setup-postgres.sh)"`).
 *
 *   node --import tsx bench/packages.ts
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pack } from 'tar-stream';
import { PackageStore } from '../src/packages/package-store.ts';
import { extractArchive } from '../src/packages/safe-extract.ts';
import { openDatabase } from '../src/store/database.ts';
import { getPackageContent } from '../src/store/package-contents.ts';
import { announceBench, median, mib, ms, printJsonLine, printTable, ratio } from './support/report.ts';

const MB = Number(process.env.BENCH_PACKAGE_MB ?? 64);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function tarOfRandom(bytes: number): Promise<Buffer> {
  const archive = pack();
  const files = 8;
  for (let i = 0; i < files; i++)
    archive.entry({ name: `f${i}.bin` }, randomBytes(Math.floor(bytes / files)));
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function drain(source: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of source) void chunk;
}

async function benchOn(
  kind: string,
  url: string,
  tar: Buffer,
  sha256: string,
): Promise<(string | number)[][]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-packages-'));
  const db = await openDatabase(url, dir);
  const store = new PackageStore(db, dir);
  const source = path.join(dir, 'upload.tar');
  await writeFile(source, tar);
  const t: Record<string, number[]> = {};
  const keys = ['storeFile', 'storeDb', 'readFile', 'readDb', 'unpackFile', 'unpackDb'];
  for (const k of keys) t[k] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const id = `bench${run}${Math.random().toString(36).slice(2, 5)}`;
      const file = path.join(dir, `${id}.tar`);
      t.storeFile!.push(await timed(() => copyFile(source, file)));
      t.storeDb!.push(await timed(() => store.storeArchive({ id, sha256, size: tar.length }, source)));
      const content = (await getPackageContent(db, id))!;
      t.readFile!.push(await timed(() => drain(createReadStream(file))));
      t.readDb!.push(await timed(() => drain(store.chunks(content))));
      const into = path.join(dir, `x-${id}`);
      await mkdir(into);
      t.unpackFile!.push(
        await timed(() => extractArchive(file, false, into, { maxBytes: 2 ** 31, maxEntries: 1000 })),
      );
      t.unpackDb!.push(
        await timed(() =>
          store.files.unpack('p', id, { sha256, size: tar.length, format: 'tar' }, () =>
            store.chunks(content),
          ),
        ),
      );
    }
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (what: string, db: string, file: string): (string | number)[] => [
    `${kind}: ${what}`,
    ms(median(t[file]!)),
    ms(median(t[db]!)),
    ratio(median(t[db]!), median(t[file]!)),
  ];
  printJsonLine('packages', {
    database: kind,
    mb: MB,
    ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])),
  });
  return [
    row('store', 'storeDb', 'storeFile'),
    row('read', 'readDb', 'readFile'),
    row('unpack', 'unpackDb', 'unpackFile'),
  ];
}

async function main(): Promise<void> {
  announceBench('packages', `${MB} MiB archive, median of ${RUNS}`);
  const tar = await tarOfRandom(MB * 1024 * 1024);
  const sha256 = createHash('sha256').update(tar).digest('hex');
  const rows = await benchOn('SQLite', '', tar, sha256);
  const pgUrl = process.env.TEST_POSTGRES_URL;
  if (pgUrl) {
    const name = `bench_packages_${process.pid}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const u = new URL(pgUrl);
    u.pathname = `/${name}`;
    try {
      rows.push(...(await benchOn('PostgreSQL', u.toString(), tar, sha256)));
    } finally {
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    }
  }
  printTable(`package archive of ${mib(tar.length)}`, ['', 'file (before)', 'database', 'ratio'], rows);
}

await main();
