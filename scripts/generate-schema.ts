/**
 * Writes the files generated from the config schema and the error catalog (`npm run schema`):
 * docs/config.schema.json, docs/config.md and docs/errors.md. With `--check`, writes nothing and
 * exits 1 when a file is stale. src/config/generated-docs.test.ts runs the same comparison.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderGeneratedFiles } from '../src/config/generate-docs.js';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');

function current(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const files = await renderGeneratedFiles(root);
let stale = 0;
for (const file of files) {
  const path = join(root, file.path);
  if (current(path) === file.content) {
    console.log(`up to date  ${file.path}`);
    continue;
  }
  if (check) {
    console.error(`stale       ${file.path}`);
    stale++;
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.content);
  console.log(`wrote       ${file.path}`);
}
if (stale > 0) {
  console.error('run `npm run schema` to regenerate');
  process.exitCode = 1;
}
