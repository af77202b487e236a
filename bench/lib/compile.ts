/**
 * Compiles the benchmark's server processes to plain JavaScript before they run, as production
 * runs compiled output rather than TypeScript through a loader: tsx costs about 45 MiB of resident
 * memory per process and wraps every closure it creates, which would be charged to ztgate.
 *
 * Uses esbuild (installed with tsx) to bundle each entry with the project's sources into
 * `node_modules/.cache/ztgate-bench/`, packages left external (resolved from node_modules).
 * Every entry lands flat in that directory: the audit writer's worker thread must be emitted as
 * `audit-worker.js` beside the bundle holding `WorkerAuditTarget`, which looks for it there.
 * Returns undefined (run through tsx) if esbuild is missing.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type * as Esbuild from 'esbuild';

export async function compileEntries(
  root: string,
  entries: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  let esbuild: typeof Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  const outdir = join(root, 'node_modules', '.cache', 'ztgate-bench');
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: Object.entries(entries).map(([out, file]) => ({ out, in: join(root, file) })),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // imported with `import()` by the cluster primary, built as an entry of its own: the primary
    // then loads none of the workers' code and packages
    external: ['./proxy-ztgate-worker.js'],
    logLevel: 'error',
    // bundled ESM has no `require`; some dependencies of the sources expect one
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outdir;
}
