/**
 * docs/config.schema.json, docs/config.md and docs/errors.md are generated; this fails when one of
 * them differs from what the generator produces now (as fastify's errors test does for its docs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { errorCatalog } from '../shared/error-catalog.js';
import { configSchemaJson, renderGeneratedFiles } from './generate-docs.js';

const root = join(import.meta.dirname, '..', '..');

function read(path: string): string {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return '';
  }
}

describe('generated docs', () => {
  test('docs/config.schema.json, docs/config.md and docs/errors.md are up to date', async () => {
    for (const file of await renderGeneratedFiles(root)) {
      assert.ok(
        read(file.path) === file.content,
        `${file.path} is stale: run \`npm run schema\` to regenerate it`,
      );
    }
  });

  test('the JSON Schema file is valid JSON with 2-space indentation and a final newline', () => {
    const text = configSchemaJson();
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.startsWith('{\n  "$schema": '));
    assert.doesNotThrow(() => JSON.parse(text) as unknown);
  });

  test('every code of the error catalog appears in docs/errors.md', () => {
    const doc = read('docs/errors.md');
    const missing = Object.keys(errorCatalog).filter((code) => !doc.includes(`\`${code}\``));
    assert.deepEqual(missing, [], 'run `npm run schema` to regenerate docs/errors.md');
  });

  test('docs/config.md names every environment variable and default', () => {
    const doc = read('docs/config.md');
    for (const text of [
      '`ZTGATE_LISTEN`',
      '`ZTGATE_IDENTITY_OIDC_ISSUER`',
      'Default: `8h`',
      '## Secret files',
      '## Relative paths',
    ]) {
      assert.ok(doc.includes(text), text);
    }
  });
});
