/**
 * The `ztgate` command tree. Each command group lives in its own file and registers itself here;
 * this file only assembles them and maps the outcome to an exit code.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE, ExitRequest, processIo, reportError, type Io } from './output.js';
import { registerAdminCommands } from './admin.js';
import { registerAuditCommands } from './audit.js';
import { registerAgentCommands } from './agent.js';
import { registerCaCommands } from './ca.js';
import { registerDeviceCommands } from './device.js';
import { registerPolicyCommands } from './policy.js';
import { registerQuickstartCommand } from './quickstart/command.js';
import { registerServeCommand } from './serve/command.js';
import { registerSessionCommands } from './session.js';
import { registerTokenCommands } from './token.js';
import { registerUserCommands } from './user.js';
import { version } from './version.js';

export function buildProgram(io: Io): Command {
  const program = new Command('ztgate')
    .description(
      'zero trust access platform: identity-aware proxy, policy decision point, device trust, PKI and audit',
    )
    .version(version, '-v, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    });
  registerQuickstartCommand(program, io);
  registerServeCommand(program, io);
  registerPolicyCommands(program, io);
  registerUserCommands(program, io);
  registerSessionCommands(program, io);
  registerTokenCommands(program, io);
  registerAuditCommands(program, io);
  registerAdminCommands(program, io);
  registerCaCommands(program, io);
  registerDeviceCommands(program, io);
  registerAgentCommands(program, io);
  return program;
}

/** Runs the CLI and returns the exit code; never calls process.exit itself. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ExitRequest) return err.exitCode;
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0; commander printed the rest.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    return reportError(err, io, 'text');
  }
}
