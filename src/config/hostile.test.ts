/**
 * Hostile and broken input: every case ends in a result or a clear ProblemsError, fast, without a
 * stack overflow, a hang or a raw library error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProblemsError, ZtError, type ErrorCode } from '../shared/errors.js';
import { loadConfigFile, loadConfigText } from './load.js';
import { show } from './test-helpers/problems.js';

/** Loads text that must fail; returns the ProblemsError. */
function failure(text: string): ProblemsError {
  try {
    loadConfigText(text, 'ztgate.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ProblemsError) return err;
    throw err;
  }
  assert.fail('expected the config to fail');
}

function assertOnly(err: ProblemsError, code: ErrorCode): void {
  assert.ok(err.problems.length >= 1, 'at least one problem');
  assert.equal(err.problems[0]?.code, code, show(err.problems));
}

describe('hostile input', () => {
  test('10,000 nested flow lists: ZT_CONFIG_TOO_DEEP', () => {
    const err = failure(`policies: ${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    assertOnly(err, 'ZT_CONFIG_TOO_DEEP');
    assert.equal(err.problems.length, 1);
    assert.equal(err.problems[0]?.at?.line, 1);
  });

  test('10,000 unclosed flow maps and lists: ZT_CONFIG_TOO_DEEP', () => {
    assertOnly(failure('{a: '.repeat(10_000)), 'ZT_CONFIG_TOO_DEEP');
    assertOnly(failure('['.repeat(10_000)), 'ZT_CONFIG_TOO_DEEP');
    assertOnly(failure('['.repeat(200_000)), 'ZT_CONFIG_TOO_DEEP');
  });

  test('10,000 nested block lists: ZT_CONFIG_TOO_DEEP', () => {
    assertOnly(failure(`${'- '.repeat(10_000)}x`), 'ZT_CONFIG_TOO_DEEP');
  });

  test('nested block maps one level past the limit are refused at that level', () => {
    const text = Array.from({ length: 65 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    const err = failure(`${text} 1\n`);
    assertOnly(err, 'ZT_CONFIG_TOO_DEEP');
    assert.equal(err.problems[0]?.at?.line, 65);
  });

  test('64 levels are accepted as YAML (and then checked against the schema)', () => {
    // policies(1) p(2) allow(3) rule(4) + 59 `not` maps + the last map = 64 levels
    const rule = `${'{not: '.repeat(59)}{public: true}${'}'.repeat(59)}`;
    const text = `policies:\n  p:\n    allow:\n      - ${rule}\n`;
    assert.doesNotThrow(() => loadConfigText(text, 'ztgate.yaml', { env: {} }));
    const deeper = `policies:\n  p:\n    allow:\n      - {not: ${rule}}\n`;
    assertOnly(failure(deeper), 'ZT_CONFIG_TOO_DEEP');
  });

  test('an alias bomb: ZT_CONFIG_TOO_MANY_ALIASES', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
      ['h', 'g'],
      ['i', 'h'],
    ]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = performance.now();
    assertOnly(failure(lines.join('\n')), 'ZT_CONFIG_TOO_MANY_ALIASES');
    assert.ok(performance.now() - started < 5000);
  });

  test('an alias that refers to its own anchor: ZT_CONFIG_TOO_DEEP, no infinite loop', () => {
    assertOnly(failure('policies: &a {x: *a}\n'), 'ZT_CONFIG_TOO_DEEP');
    assertOnly(failure('routes: &a [*a, *a, *a]\n'), 'ZT_CONFIG_TOO_DEEP');
    assertOnly(failure('policies: &a {x: &b {allow: [*b, *a]}}\n'), 'ZT_CONFIG_TOO_DEEP');
  });

  test('an alias to an undefined anchor: ZT_CONFIG_YAML_SYNTAX', () => {
    assertOnly(failure('listen: *nope\n'), 'ZT_CONFIG_YAML_SYNTAX');
  });

  test('ordinary aliases are fine', () => {
    const text = 'policies:\n  a: &rules {allow: [{groups: [x]}]}\n  b: *rules\n';
    const { config } = loadConfigText(text, 'ztgate.yaml', { env: {} });
    assert.deepEqual(config.policies.b, { allow: [{ groups: ['x'] }] });
  });

  test('a 17 MiB file: ZT_CONFIG_FILE_TOO_LARGE, before reading it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztgate-big-'));
    try {
      const file = join(dir, 'ztgate.yaml');
      writeFileSync(file, Buffer.alloc(17 * 1024 * 1024, 0x61));
      assert.throws(() => loadConfigFile(file, { env: {} }), { code: 'ZT_CONFIG_FILE_TOO_LARGE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assertOnly(failure('#'.repeat(17 * 1024 * 1024)), 'ZT_CONFIG_FILE_TOO_LARGE');
  });

  test('a 1,000,000-element list finishes with a clear, bounded error', { timeout: 60_000 }, () => {
    const err = failure(`routes:\n${'- 1\n'.repeat(1_000_000)}`);
    assert.equal(err.problems[0]?.code, 'ZT_CONFIG_WRONG_TYPE');
    assert.deepEqual(err.problems[0]?.path, ['routes', 0]);
    assert.equal(err.problems.length, 101);
    assert.equal(err.problems[100]?.code, 'ZT_CONFIG_TOO_MANY_PROBLEMS');
  });

  test('a 1,000,000-element list of valid items loads', { timeout: 60_000 }, () => {
    const text = `policies:\n  p:\n    allow:\n      - groups: [${'g,'.repeat(1_000_000)}]\n`;
    const { config } = loadConfigText(text, 'ztgate.yaml', { env: {} });
    assert.equal(config.policies.p?.allow?.[0]?.groups?.length, 1_000_000);
  });

  test('a map with 200,000 keys: duplicate detection stays linear', { timeout: 60_000 }, () => {
    const keys = Array.from({ length: 200_000 }, (_, i) => `k${i}: 1`);
    keys.push('k7: 2');
    const started = performance.now();
    const err = failure(`${keys.join('\n')}\n`);
    assert.ok(performance.now() - started < 30_000);
    assert.ok(
      err.problems.some(
        (p) => p.code === 'ZT_CONFIG_YAML_SYNTAX' && /duplicate key `k7`/.test(p.message),
      ),
    );
  });

  test('a 1 MB key: refused, and the message stays short', () => {
    const implicit = failure(`"${'k'.repeat(1_000_000)}": 1\n`);
    assertOnly(implicit, 'ZT_CONFIG_YAML_SYNTAX');
    const explicit = failure(`? ${'k'.repeat(1_000_000)}\n: 1\n`);
    assertOnly(explicit, 'ZT_CONFIG_UNKNOWN_KEY');
    const p = explicit.problems[0];
    assert.ok(p && p.message.length < 200);
    assert.ok(String(p.path?.[0]).length < 300);
  });

  test('binary garbage: a clear error', () => {
    let seed = 7;
    const bytes = Array.from({ length: 4096 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 256;
    });
    const err = failure(Buffer.from(bytes).toString('latin1'));
    assert.ok(err.problems.length > 0);
    const dir = mkdtempSync(join(tmpdir(), 'ztgate-bin-'));
    try {
      const file = join(dir, 'ztgate.yaml');
      writeFileSync(file, Buffer.from(bytes));
      assert.throws(() => loadConfigFile(file, { env: {} }), {
        code: 'ZT_CONFIG_YAML_SYNTAX',
        message: /not UTF-8/,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a root that is not a map: ZT_CONFIG_WRONG_TYPE', () => {
    for (const text of ['- a\n- b\n', 'just a string\n', '42\n', 'true\n', '[]\n']) {
      const err = failure(text);
      assertOnly(err, 'ZT_CONFIG_WRONG_TYPE');
      assert.deepEqual(err.problems[0]?.at, { file: 'ztgate.yaml', line: 1, col: 1 });
    }
  });

  test('duplicate keys: ZT_CONFIG_YAML_SYNTAX at the second, naming the first', () => {
    const err = failure(
      'listen: 127.0.0.1:1\nsession:\n  ttl: 1h\n  ttl: 2h\nlisten: 127.0.0.1:2\n',
    );
    assert.deepEqual(
      err.problems.map((p) => [p.code, p.path, p.at?.line, p.at?.col]),
      [
        ['ZT_CONFIG_YAML_SYNTAX', ['session', 'ttl'], 4, 3],
        ['ZT_CONFIG_YAML_SYNTAX', ['listen'], 5, 1],
      ],
    );
    assert.equal(err.problems[1]?.help, '`listen` is already set at line 1; keep one of them');
  });

  test('`__proto__` keys are refused, not silently dropped', () => {
    const err = failure(
      '__proto__: {listen: x}\npolicies:\n  __proto__: {allow: [{public: true}]}\n',
    );
    assert.equal(
      err.problems.filter((p) => p.code === 'ZT_CONFIG_INVALID_VALUE').length,
      2,
      show(err.problems),
    );
    assert.equal(({} as Record<string, unknown>).listen, undefined);
  });

  test('non-string keys are refused', () => {
    assertOnly(failure('? [a, b]\n: 1\n'), 'ZT_CONFIG_YAML_SYNTAX');
  });

  test(
    'arbitrary text either loads or throws a ProblemsError, never anything else',
    { timeout: 60_000 },
    () => {
      const yamlish = fc.stringMatching(/^[-a-z0-9 :{}[\],&*!|>'"#\n\t?%@`.]{0,200}$/);
      const keyed = fc
        .tuple(
          fc.constantFrom('listen', 'routes', 'policies', 'session', 'identity', 'store', 'x'),
          fc.string(),
        )
        .map(([k, v]) => `${k}: ${v}`);
      fc.assert(
        fc.property(
          fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), yamlish, keyed),
          (text) => {
            try {
              loadConfigText(text, 'ztgate.yaml', { env: {} });
            } catch (err) {
              if (!(err instanceof ProblemsError) && !(err instanceof ZtError)) throw err;
              assert.ok(err instanceof ProblemsError);
              assert.ok(err.problems.length > 0);
              for (const p of err.problems) assert.equal(typeof p.message, 'string');
            }
          },
        ),
        { numRuns: 2000 },
      );
    },
  );
});
