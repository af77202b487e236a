/** Shared fixtures for the identity tests: a temporary SQLite store, a clock, an audit collector, the CLI. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import type { IdentityAuditEvent } from '../../../src/identity/audit.js';
import { ExitRequest, reportError, type Io } from '../../../src/cli/output.js';
import { registerSessionCommands } from '../../../src/cli/session.js';
import { registerTokenCommands } from '../../../src/cli/token.js';
import { registerUserCommands } from '../../../src/cli/user.js';
import { openStore } from '../../../src/store/open.js';
import type { Store } from '../../../src/store/store.js';

export interface TempStore {
  readonly dir: string;
  readonly dataDir: string;
  readonly store: Store;
  cleanup(): Promise<void>;
}

export async function tempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-identity-'));
  const dataDir = join(dir, 'data');
  const store = await openStore({ kind: 'sqlite', dataDir });
  return {
    dir,
    dataDir,
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public t = Date.UTC(2026, 10, 22, 10, 0, 0)) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function auditCollector(): {
  events: IdentityAuditEvent[];
  sink: (e: IdentityAuditEvent) => void;
} {
  const events: IdentityAuditEvent[] = [];
  return { events, sink: (e) => events.push(e) };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the identity command groups the way src/cli/main.ts runs the program. */
export async function runCli(argv: readonly string[], stdin = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    stdin: () => Promise.resolve(stdin),
  };
  const program = new Command('ztgate')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  registerUserCommands(program, io);
  registerSessionCommands(program, io);
  registerTokenCommands(program, io);
  let code = 0;
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof ExitRequest) code = err.exitCode;
    else if (err instanceof CommanderError) code = err.exitCode === 0 ? 0 : 2;
    else code = reportError(err, io, 'text');
  }
  return { code, stdout, stderr };
}

/** A config directory for CLI tests: `ztgate.yaml` with its data directory beside it. */
export function cliConfig(): { dir: string; config: string; dataDir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-cli-'));
  const config = join(dir, 'ztgate.yaml');
  writeFileSync(config, 'data_dir: ./data\npublic_url: https://auth.example.com\n');
  return {
    dir,
    config,
    dataDir: join(dir, 'data'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
