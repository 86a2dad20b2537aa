// Builds the web UI (src/web) into dist/web: one bundled, minified ES module with Preact and ansi_up
// inside (served by Gantry itself, never from a CDN), plus the page and its stylesheet.
//   usage: node --import tsx scripts/build-web.ts [outDir]
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildWeb(outDir = path.join(root, 'dist', 'web')): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(root, 'src/web/main.tsx')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'eof',
    logLevel: 'warning',
  });
  await copyFile(path.join(root, 'src/web/index.html'), path.join(outDir, 'index.html'));
  await copyFile(path.join(root, 'src/web/app.css'), path.join(outDir, 'app.css'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWeb(process.argv[2]);
}
