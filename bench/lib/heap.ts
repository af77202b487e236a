/**
 * Heap measurements. A full garbage collection before reading the heap makes "heap used" mean
 * "live data", not "whatever the last collection left behind". `gc` is exposed at run time so the
 * benchmarks need no node flag.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | undefined;

/** Runs a full garbage collection. */
export function fullGc(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

/** Heap used in bytes after a full collection. */
export function liveHeapBytes(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

export function mib(bytes: number): number {
  return Number((bytes / 2 ** 20).toFixed(1));
}
