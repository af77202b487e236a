/** The collectors of each platform, and what runs them. */
import { release } from 'node:os';
import { linuxCollectors } from './linux/index.js';
import { macosCollectors } from './macos.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, nodeCommandRunner, nodeHostFs } from './run.js';
import type { Collector, CollectorContext, Platform } from './types.js';
import { windowsCollectors } from './windows.js';

export * from './types.js';
export { runCollectors, nodeCommandRunner, nodeHostFs, type CollectionResult } from './run.js';

export function collectorsFor(platform: Platform): readonly Collector[] {
  switch (platform) {
    case 'linux':
      return linuxCollectors;
    case 'macos':
      return macosCollectors;
    case 'windows':
      return windowsCollectors;
  }
}

export function currentPlatform(): Platform | undefined {
  switch (process.platform) {
    case 'linux':
      return 'linux';
    case 'darwin':
      return 'macos';
    case 'win32':
      return 'windows';
    default:
      return undefined;
  }
}

/** The context for the machine the agent runs on. */
export function hostContext(options: {
  readonly platform: Platform;
  readonly agentVersion: string;
  readonly edrProcesses: readonly string[];
  readonly commandTimeoutMs?: number;
  readonly now?: () => number;
}): CollectorContext {
  return {
    platform: options.platform,
    run: nodeCommandRunner,
    fs: nodeHostFs,
    now: options.now ?? Date.now,
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    edrProcesses: options.edrProcesses,
    agentVersion: options.agentVersion,
    kernelRelease: () => release(),
    uid: typeof process.getuid === 'function' ? process.getuid() : undefined,
  };
}
