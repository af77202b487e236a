/**
 * Change events between processes on one SQLite store. With SQLite there is one server, but the
 * command line (`ztgate device revoke`, `session revoke`, `ca revoke`, ...) runs in other processes
 * and changes the store directly: without this, the server would learn of a revocation only when
 * its caches expire and would keep open WebSockets until their next periodic check.
 *
 * The server (`listen: true`) accepts connections on a Unix socket in the data directory
 * (`events.sock`, mode 0600, in a directory that is 0700: only the store's owner, who can change
 * the store anyway, can send); other processes publish by writing one JSON envelope per line to it.
 * A process that finds no server publishes locally only: the store is the source of truth, and a
 * server that starts later reads it. Windows has no such socket here: in-process delivery only.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { StoreError } from '../store.js';
import {
  dispatch,
  parseEnvelope,
  type ChangeEvent,
  type EventBus,
  type EventEnvelope,
  type EventHandler,
  type EventWarn,
} from './events.js';

export const EVENTS_SOCKET = 'events.sock';
/** Unix socket paths are limited to 104-108 bytes depending on the system */
const MAX_SOCKET_PATH = 100;
const MAX_LINE = 16 * 1024;
const SEND_TIMEOUT_MS = 2_000;

export interface LocalEventBusOptions {
  /** the data directory that holds the SQLite database */
  readonly dataDir: string;
  /** true in the server: receive what other processes publish */
  readonly listen?: boolean;
  readonly now?: () => number;
  readonly onWarning?: EventWarn;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Sends one line to the socket; resolves false when no server listens there. */
function send(path: string, line: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${path} within ${SEND_TIMEOUT_MS} ms`));
    }, SEND_TIMEOUT_MS);
    socket.once('error', (err) => {
      clearTimeout(timer);
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ECONNREFUSED') resolve(false);
      else reject(err);
    });
    socket.once('connect', () => {
      socket.end(`${line}\n`, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  });
}

export class LocalEventBus implements EventBus {
  readonly id = randomUUID();
  readonly connected = true;
  private readonly handlers = new Set<EventHandler>();
  private readonly path: string | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private closed = false;

  private constructor(
    private readonly options: LocalEventBusOptions,
    path: string | undefined,
  ) {
    this.path = path;
  }

  static async open(options: LocalEventBusOptions): Promise<LocalEventBus> {
    const path = join(options.dataDir, EVENTS_SOCKET);
    if (process.platform === 'win32') return new LocalEventBus(options, undefined);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      options.onWarning?.(
        'ZT_STORE_UNAVAILABLE',
        `the data directory's path is too long for ${EVENTS_SOCKET}: commands in other processes reach this server only through the store (caches, periodic checks)`,
      );
      return new LocalEventBus(options, undefined);
    }
    const bus = new LocalEventBus(options, path);
    if (options.listen) await bus.listen();
    return bus;
  }

  /** true when this process receives what others publish */
  get listening(): boolean {
    return this.server !== undefined;
  }

  private async listen(): Promise<void> {
    const path = this.path as string;
    // a socket file left by a server that died is replaced; one a live server answers on is not
    if (await send(path, '').catch(() => true)) {
      this.options.onWarning?.(
        'ZT_STORE_UNAVAILABLE',
        `another process listens on ${path}: is a second server running on this SQLite store? Changes made by commands reach only that one`,
      );
      return;
    }
    try {
      unlinkSync(path);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    server.on('error', () => undefined);
    this.server = server;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line !== '') this.receive(line);
        nl = buffer.indexOf('\n');
      }
      if (buffer.length > MAX_LINE) socket.destroy();
    });
  }

  private receive(line: string): void {
    const envelope = parseEnvelope(line);
    if (!envelope) {
      this.options.onWarning?.('ZT_STORE_EVENT_INVALID', 'ignored a malformed change event');
      return;
    }
    if (envelope.origin === this.id || this.closed) return;
    dispatch([...this.handlers], envelope);
  }

  async publish(event: Exclude<ChangeEvent, { type: 'bus.resync' }>): Promise<void> {
    if (this.closed) return;
    const envelope: EventEnvelope = {
      id: randomUUID(),
      origin: this.id,
      at: (this.options.now ?? Date.now)(),
      event,
    };
    dispatch([...this.handlers], envelope);
    // the server is the only other process that caches; it needs no message from itself
    if (this.path === undefined || this.server !== undefined) return;
    try {
      await send(this.path, JSON.stringify(envelope));
    } catch (err) {
      throw new StoreError(
        'ZT_STORE_EVENT_PUBLISH_FAILED',
        `the \`${event.type}\` event could not be sent to the running server: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path as string);
    } catch {
      // already gone
    }
  }
}
