/**
 * `ztgate policy test FILE`: policy unit tests in YAML.
 *
 * ```yaml
 * config: ztgate.yaml          # optional: test this config's policies (path relative to this file)
 * policies: {...}              # optional: inline policies (same language as ztgate.yaml)
 * defaults: {...}              # optional: decision input merged under every case's input
 * tests:
 *   - name: engineer with fresh MFA on a managed laptop
 *     policy: engineering
 *     input: {user: {...}, session: {...}, device: {...}, request: {...}, risk: {...}}
 *     expect: allow            # allow | deny | login | step_up
 *     reason: mfa-too-old      # optional: a reason code the decision must carry
 *     rule: allow[0]           # optional: the rule that must decide
 * ```
 * The same format is the policy corpus under test/corpus/, run by the test suite against both the
 * compiled evaluator and the reference interpreter.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import { issuesToProblems } from '../config/issues.js';
import { MAX_CONFIG_BYTES, parseYaml, tooLarge } from '../config/yaml.js';
import { buildEngine, type Decision, type PolicyEngine } from '../pdp/index.js';
import { reasonCodes } from '../pdp/decision.js';
import type { DecisionInput } from '../pdp/input.js';
import { PolicySchema } from '../pdp/lang/schema.js';
import {
  hasErrors,
  ProblemsError,
  ZtError,
  formatProblem,
  type Problem,
} from '../shared/errors.js';
import { formatLocation, type KeyPath, type SourceLocation } from '../shared/source.js';
import { EXIT_OK, EXIT_USER_ERROR, type Io, type OutputFormat } from './output.js';

const VERDICTS = ['allow', 'deny', 'login', 'step_up'] as const;

const TestCaseSchema = z.strictObject({
  name: z.string().min(1),
  policy: z.string().min(1),
  input: z.record(z.string(), z.unknown()).default({}),
  expect: z.enum(VERDICTS),
  reason: z
    .enum(Object.keys(reasonCodes) as [keyof typeof reasonCodes, ...(keyof typeof reasonCodes)[]])
    .optional(),
  rule: z
    .string()
    .regex(/^(allow|deny)\[\d+\]$/, 'expected a rule name such as `allow[0]`')
    .optional(),
});

const TestFileSchema = z.strictObject({
  config: z.string().min(1).optional(),
  policies: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/), PolicySchema).optional(),
  defaults: z.record(z.string(), z.unknown()).optional(),
  tests: z.array(TestCaseSchema).min(1),
});

/** For "did you mean" on unknown keys of a test file. */
const TEST_FILE_JSON_SCHEMA = z.toJSONSchema(TestFileSchema, { io: 'input' });

export interface PolicyTestCase {
  readonly name: string;
  readonly policy: string;
  readonly input: DecisionInput;
  readonly expect: (typeof VERDICTS)[number];
  readonly reason?: string | undefined;
  readonly rule?: string | undefined;
  readonly at: SourceLocation | undefined;
}

export interface LoadedPolicyTests {
  readonly file: string;
  readonly engine: PolicyEngine;
  readonly cases: readonly PolicyTestCase[];
  readonly problems: readonly Problem[];
}

export interface PolicyTestResult {
  readonly name: string;
  readonly at: string;
  readonly ok: boolean;
  readonly expected: { decision: string; reason?: string; rule?: string };
  readonly decision: Decision;
}

/** Reads and compiles a policy test file; throws ProblemsError listing every problem found. */
export function loadPolicyTestFile(file: string): LoadedPolicyTests {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new ProblemsError([tooLarge(file, size)]);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ZtError) throw err;
    throw new ZtError('ZT_POLICY_TEST_FILE', `cannot read the test file \`${file}\``, {
      help:
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'check the path'
          : 'check its permissions',
    });
  }
  const parsed = parseYaml(text, file);
  const problems: Problem[] = [...parsed.problems];
  if (!parsed.data) throw new ProblemsError(problems);
  const at = (path: KeyPath) => parsed.locator.value(path);
  const result = TestFileSchema.safeParse(parsed.data);
  if (!result.success) {
    issuesToProblems(result.error.issues, {
      data: parsed.data,
      at,
      keyAt: (path) => parsed.locator.key(path),
      add: (p) => (problems.push(p), problems.length < 100),
      schema: TEST_FILE_JSON_SCHEMA,
    });
    throw new ProblemsError(problems);
  }
  const spec = result.data;
  let policies = spec.policies ?? {};
  let routes: { from: string; policy: string | z.output<typeof PolicySchema> }[] = [];
  let locate = at;
  if (spec.config !== undefined) {
    const configFile = resolve(dirname(file), spec.config);
    const loaded = loadConfigFile(configFile);
    problems.push(...loaded.problems);
    for (const name of Object.keys(policies)) {
      if (Object.hasOwn(loaded.config.policies, name)) {
        problems.push(
          testProblem(
            `inline policy \`${name}\` is also defined in \`${spec.config}\``,
            ['policies', name],
            at,
            'rename one of them',
          ),
        );
      }
    }
    // Positions: inline policies are in this file, the config's in the config file.
    const inline = new Set(Object.keys(policies));
    locate = (path: KeyPath) =>
      path[0] === 'policies' && inline.has(String(path[1])) ? at(path) : loaded.locate(path);
    policies = { ...loaded.config.policies, ...policies };
    routes = loaded.config.routes;
  }
  const { engine, problems: compileProblems } = buildEngine({ policies, routes }, locate);
  problems.push(...compileProblems);
  const defaults = spec.defaults ?? {};
  const cases = spec.tests.map((t, i): PolicyTestCase => {
    if (!engine.policies.policies.has(t.policy)) {
      problems.push(
        testProblem(
          `test \`${t.name}\` names no policy: \`${t.policy}\``,
          ['tests', i, 'policy'],
          at,
          'define it under `policies:` or in the `config:` file',
        ),
      );
    }
    return {
      name: t.name,
      policy: t.policy,
      input: deepMerge(defaults, t.input) as DecisionInput,
      expect: t.expect,
      reason: t.reason,
      rule: t.rule,
      at: at(['tests', i]),
    };
  });
  if (hasErrors(problems)) throw new ProblemsError(problems);
  return { file, engine, cases, problems };
}

/** Runs the cases with the compiled engine. */
export function runPolicyTests(loaded: LoadedPolicyTests): PolicyTestResult[] {
  return loaded.cases.map((c) => {
    const decision = loaded.engine.evaluate(c.policy, c.input);
    return {
      name: c.name,
      at: formatLocation(c.at),
      ok: caseHolds(c, decision),
      expected: expectation(c),
      decision,
    };
  });
}

export function caseHolds(c: PolicyTestCase, d: Decision): boolean {
  return (
    d.decision === c.expect &&
    (c.reason === undefined || d.reasons.some((r) => r.code === c.reason)) &&
    (c.rule === undefined || d.rule === c.rule)
  );
}

function expectation(c: PolicyTestCase): PolicyTestResult['expected'] {
  return {
    decision: c.expect,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.rule ? { rule: c.rule } : {}),
  };
}

export function runPolicyTestFile(io: Io, file: string, format: OutputFormat): number {
  const loaded = loadPolicyTestFile(file);
  const results = runPolicyTests(loaded);
  const failed = results.filter((r) => !r.ok);
  if (format === 'json') {
    io.stdout(
      `${JSON.stringify(
        {
          ok: failed.length === 0,
          passed: results.length - failed.length,
          failed: failed.length,
          ...(failed.length ? { code: 'ZT_POLICY_TEST_FAILED' } : {}),
          results,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    if (loaded.problems.length > 0) io.stderr(`${loaded.problems.map(formatProblem).join('\n')}\n`);
    for (const r of results) {
      if (r.ok) {
        io.stdout(`ok    ${r.name}\n`);
        continue;
      }
      const want = [
        r.expected.decision,
        r.expected.reason && `reason ${r.expected.reason}`,
        r.expected.rule && `rule ${r.expected.rule}`,
      ]
        .filter(Boolean)
        .join(', ');
      const got = [r.decision.decision, r.decision.rule && `rule ${r.decision.rule}`]
        .filter(Boolean)
        .join(', ');
      io.stdout(`FAIL  ${r.name}${r.at ? ` (${r.at})` : ''}\n      expected ${want}; got ${got}\n`);
      for (const reason of r.decision.reasons) {
        io.stdout(
          `        ${reason.code}${reason.rule ? ` ${reason.rule}` : ''}${reason.criterion ? ` ${reason.criterion}` : ''}: ${reason.message}\n`,
        );
      }
    }
    io.stdout(`${file}: ${results.length - failed.length} of ${results.length} cases passed\n`);
    if (failed.length > 0) {
      io.stderr(
        `error ZT_POLICY_TEST_FAILED: ${failed.length} of ${results.length} cases did not give the expected decision\n`,
      );
    }
  }
  return failed.length === 0 ? EXIT_OK : EXIT_USER_ERROR;
}

function testProblem(
  message: string,
  path: KeyPath,
  at: (p: KeyPath) => SourceLocation | undefined,
  help: string,
): Problem {
  const loc = at(path);
  return {
    code: 'ZT_POLICY_TEST_FILE',
    severity: 'error',
    message,
    path,
    help,
    ...(loc ? { at: loc } : {}),
  };
}

/** `defaults` under `input`: maps merge key by key, anything else in `input` wins. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainMap(base) || !isPlainMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    // defineProperty: a `__proto__` key in the YAML must stay data, never become a prototype.
    Object.defineProperty(out, k, {
      value: deepMerge(Object.hasOwn(base, k) ? base[k] : undefined, v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
