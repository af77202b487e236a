/**
 * `ztgate policy check|test|eval`: validate a config's policies, run policy unit tests, and print
 * the decision for one input.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultConfigPath, loadConfigFile, type LoadedConfig } from '../config/load.js';
import { checkDeviceSettings } from '../device/settings.js';
import { buildEngine, interpret, type Decision, type PolicyEngine } from '../pdp/index.js';
import type { DecisionInput } from '../pdp/input.js';
import {
  hasErrors,
  ProblemsError,
  ZtError,
  formatProblem,
  type Problem,
} from '../shared/errors.js';
import {
  EXIT_OK,
  EXIT_USER_ERROR,
  parseFormat,
  runCommand,
  type Io,
  type OutputFormat,
} from './output.js';
import { runPolicyTestFile } from './policy-test.js';

export function registerPolicyCommands(program: Command, io: Io): void {
  const policy = program.command('policy').description('validate, test and evaluate policies');

  policy
    .command('check')
    .description('validate a config file and its policies; exit 1 with file:line:col on error')
    .argument('[file]', 'config file (default: $ZTGATE_CONFIG or ./ztgate.yaml)')
    .option('--check-secrets', 'also check that every *_file secret exists with mode 0600')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(
      async (file: string | undefined, opts: { format: OutputFormat; checkSecrets?: boolean }) =>
        runCommand(io, opts.format, () =>
          checkCommand(io, file ?? defaultConfigPath(process.env), opts),
        ),
    );

  policy
    .command('test')
    .description('run policy unit tests from a YAML file; exit 1 when a case fails')
    .argument('<file>', 'test file: `config:` or `policies:`, and `tests:` cases')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(async (file: string, opts: { format: OutputFormat }) =>
      runCommand(io, opts.format, () => runPolicyTestFile(io, file, opts.format)),
    );

  policy
    .command('eval')
    .description('print the decision for one input as JSON (exit 0 whatever the decision)')
    .requiredOption('--policy <name>', 'the policy to evaluate')
    .requiredOption('--input <json>', 'decision input: JSON text, @file, or - for standard input')
    .option('--config <file>', 'config file (default: $ZTGATE_CONFIG or ./ztgate.yaml)')
    .option('--explain', 'add the trace of every rule and criterion')
    .option('--format <format>', 'json or text', parseFormat, 'json')
    .action(
      async (opts: {
        policy: string;
        input: string;
        config?: string;
        explain?: boolean;
        format: OutputFormat;
      }) => runCommand(io, opts.format, () => evalCommand(io, opts)),
    );
}

/**
 * Loads a config, compiles its policies and checks its device settings (tier rules and webhook
 * mappings against the posture schema, which the config schema cannot see); throws ProblemsError
 * when any of them reports an error.
 */
export function loadEngine(
  file: string,
  options: { readSecrets?: boolean } = {},
): { loaded: LoadedConfig; engine: PolicyEngine; problems: readonly Problem[] } {
  const loaded = loadConfigFile(file, { readSecrets: options.readSecrets ?? false });
  const { engine, problems: policyProblems } = buildEngine(loaded.config, loaded.locate);
  const devices = checkDeviceSettings(loaded.config.devices, loaded.locate);
  const problems = [...loaded.problems, ...policyProblems, ...devices.problems];
  if (hasErrors(problems)) throw new ProblemsError(problems);
  return { loaded, engine, problems };
}

function checkCommand(
  io: Io,
  file: string,
  opts: { format: OutputFormat; checkSecrets?: boolean },
): number {
  let result: ReturnType<typeof loadEngine>;
  try {
    result = loadEngine(file, { readSecrets: opts.checkSecrets ?? false });
  } catch (err) {
    if (err instanceof ProblemsError && opts.format === 'text') {
      const errors = err.problems.filter((p) => p.severity === 'error').length;
      io.stderr(
        `${err.problems.map(formatProblem).join('\n')}\n${file}: ${errors} error${errors === 1 ? '' : 's'}\n`,
      );
      return EXIT_USER_ERROR;
    }
    throw err;
  }
  const { loaded, problems } = result;
  const summary = {
    ok: true,
    file,
    policies: Object.keys(loaded.config.policies).length,
    routes: loaded.config.routes.length,
    problems,
  };
  if (opts.format === 'json') {
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    if (problems.length > 0) io.stderr(`${problems.map(formatProblem).join('\n')}\n`);
    const warnings = problems.length;
    io.stdout(
      `${file}: ok (${plural(summary.policies, 'policy', 'policies')}, ${plural(summary.routes, 'route', 'routes')}${
        warnings ? `, ${plural(warnings, 'warning', 'warnings')}` : ''
      })\n`,
    );
  }
  return EXIT_OK;
}

async function evalCommand(
  io: Io,
  opts: { policy: string; input: string; config?: string; explain?: boolean; format: OutputFormat },
): Promise<number> {
  const input = parseDecisionInput(await readInputArgument(io, opts.input));
  const { engine } = loadEngine(opts.config ?? defaultConfigPath(process.env));
  const compiled = engine.policies.policies.get(opts.policy);
  if (!compiled) {
    const names = [...engine.policies.policies.keys()].filter((n) => !n.startsWith('routes['));
    throw new ZtError('ZT_POLICY_UNKNOWN', `no policy named \`${opts.policy}\``, {
      help: names.length
        ? `the config defines: ${names.join(', ')}`
        : 'the config defines no policies',
    });
  }
  const decision = compiled.evaluate(input);
  const output: Decision & { trace?: unknown } = opts.explain
    ? { ...decision, trace: interpret(compiled.ast, input).trace }
    : decision;
  if (opts.format === 'json') io.stdout(`${JSON.stringify(output, null, 2)}\n`);
  else io.stdout(formatDecision(decision));
  return EXIT_OK;
}

export function formatDecision(d: Decision): string {
  const lines = [`${d.decision} (policy ${d.policy}${d.rule ? `, ${d.rule}` : ''})`];
  for (const r of d.reasons) {
    lines.push(
      `  ${r.code}${r.rule ? ` ${r.rule}` : ''}${r.criterion ? ` ${r.criterion}` : ''}: ${r.message}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function readInputArgument(io: Io, arg: string): Promise<string> {
  if (arg === '-') return io.stdin();
  if (arg.startsWith('@')) {
    try {
      return readFileSync(arg.slice(1), 'utf8');
    } catch (err) {
      throw new ZtError('ZT_CLI_INPUT_INVALID', `cannot read the input file \`${arg.slice(1)}\``, {
        help:
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'check the path'
            : 'check its permissions',
      });
    }
  }
  return arg;
}

/** JSON text -> decision input; anything but a JSON object is a user error. */
export function parseDecisionInput(text: string): DecisionInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ZtError(
      'ZT_POLICY_EVAL_INPUT',
      `the input is not valid JSON: ${(err as Error).message}`,
      {
        help: 'pass a JSON object as in docs/policy.md ("Decision input"), or @file',
      },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ZtError('ZT_POLICY_EVAL_INPUT', 'the input must be a JSON object', {
      help: 'for example {"user": {"id": "u1", "groups": ["engineering"]}}',
    });
  }
  return value;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
