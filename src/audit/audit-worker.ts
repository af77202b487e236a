/**
 * The audit writer's worker thread: opens its own store connection and chains and writes the
 * batches the main thread sends. One message at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, type StoreOptions } from '../store/open.js';
import type { Store } from '../store/store.js';
import { appendPreparedTo } from './target.js';
import type { WorkerReply, WorkerRequest } from './worker-target.js';

const port = parentPort;
if (!port) throw new Error('audit-worker.ts runs as a worker thread');

let store: Store | undefined;
let queue = Promise.resolve();

function reply(r: WorkerReply): void {
  port?.postMessage(r);
}

async function handle(req: WorkerRequest): Promise<void> {
  try {
    store ??= await openStore((workerData as { options: StoreOptions }).options);
    switch (req.op) {
      case 'append':
        reply({ id: req.id, ok: true, value: await appendPreparedTo(store.audit, req.records) });
        return;
      case 'checkpoint':
        reply({ id: req.id, ok: true, value: await store.audit.addCheckpoint(req.checkpoint) });
        return;
      case 'close':
        await store.close();
        store = undefined;
        reply({ id: req.id, ok: true, value: null });
        return;
    }
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    reply({
      id: req.id,
      ok: false,
      code: typeof e.code === 'string' ? e.code : undefined,
      message: typeof e.message === 'string' ? e.message : String(err),
    });
  }
}

port.on('message', (req: WorkerRequest) => {
  queue = queue.then(() => handle(req));
});
