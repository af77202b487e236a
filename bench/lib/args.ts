/**
 * Command-line options shared by the benchmarks in bench/:
 *   --json            print exactly one JSON summary line on stdout and nothing else there
 *                     (run `npm run -s <script> -- --json`: without -s, npm adds its banner)
 *   --quick           shorter phases (a smoke run: numbers are noisier)
 *   --check-targets   exit 1 when a target is missed
 *   --help
 */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  readonly json: boolean;
  readonly quick: boolean;
  readonly checkTargets: boolean;
}

export function parseBenchArgs(
  name: string,
  description: string,
  argv = process.argv.slice(2),
): BenchArgs {
  const usage = [
    `usage: npm run ${name} -- [--json] [--quick] [--check-targets]`,
    `       (npm prints its own banner on stdout; for one clean JSON line use \`npm run -s ${name} -- --json\`)`,
    '',
    description,
    '',
    '  --json           print one JSON summary line on stdout and nothing else there',
    '  --quick          shorter phases, for a smoke run (noisier numbers)',
    '  --check-targets  exit 1 when a target is missed',
    '  --help           show this help',
  ].join('\n');
  let values: { json?: boolean; quick?: boolean; 'check-targets'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        quick: { type: 'boolean' },
        'check-targets': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return {
    json: values.json === true,
    quick: values.quick === true,
    checkTargets: values['check-targets'] === true,
  };
}
