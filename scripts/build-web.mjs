#!/usr/bin/env node
// Builds the console and the portal (web/) into dist/web/: ES modules bundled by esbuild, file names
// carrying a hash of their content (so ztgate can serve them with year-long cache headers), and
// dist/web/manifest.json naming each entry's script and stylesheet for the server's HTML page.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: {
    console: 'web/src/console.tsx',
    portal: 'web/src/portal.tsx',
    style: 'web/src/style.css',
  },
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: 'web/tsconfig.json',
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
});

const entries = {};
const files = [];
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  const name = basename(file);
  files.push(name);
  if (!meta.entryPoint) continue;
  const entry = Object.entries({
    console: 'web/src/console.tsx',
    portal: 'web/src/portal.tsx',
    style: 'web/src/style.css',
  }).find(([, src]) => src === meta.entryPoint)?.[0];
  if (entry) entries[entry] = name;
}
for (const need of ['console', 'portal', 'style']) {
  if (!entries[need]) throw new Error(`the web build produced no ${need} entry`);
}
writeFileSync(
  join(out, 'manifest.json'),
  `${JSON.stringify({ entries, files: files.sort() }, null, 2)}\n`,
);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`web: ${files.length} files, ${Math.round(bytes / 1024)} KiB in dist/web/assets`);
