/**
 * Client connections and requests in flight, for a graceful drain: stop accepting, let running
 * requests finish until a deadline, close idle HTTP/1.1 keep-alive connections at once and busy
 * ones after their response (`Connection: close`), send HTTP/2 sessions a GOAWAY (their open
 * streams finish), and cut whatever is left at the deadline.
 */
import type { Http2Session } from 'node:http2';
import type { ConnectionInfo } from './connection-info.js';

export class Connections {
  private readonly h1 = new Set<ConnectionInfo>();
  private readonly sessions = new Set<Http2Session>();
  /** every TLS socket, HTTP/2 ones included: a session that was told to close can stay half-open */
  private readonly sockets = new Set<ConnectionInfo['socket']>();
  private idleWaiters: (() => void)[] = [];
  inFlight = 0;
  draining = false;

  addConnection(info: ConnectionInfo): void {
    this.sockets.add(info.socket);
    info.socket.once('close', () => this.sockets.delete(info.socket));
    if (info.h2) return;
    this.h1.add(info);
    info.socket.once('close', () => this.h1.delete(info));
  }

  addSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.draining) session.close();
  }

  begin(conn: ConnectionInfo): void {
    this.inFlight++;
    conn.active++;
  }

  end(conn: ConnectionInfo): void {
    this.inFlight--;
    conn.active--;
    if (this.draining && !conn.h2 && conn.active === 0) conn.socket.end();
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Number of open client connections (HTTP/1.1 sockets and HTTP/2 sessions). */
  get open(): number {
    return this.h1.size + this.sessions.size;
  }

  /**
   * Drains: returns the number of requests still running at the deadline (cut), 0 when all
   * finished in time.
   */
  async drain(deadlineMs: number): Promise<number> {
    this.draining = true;
    for (const s of this.sessions) s.close();
    for (const c of this.h1) if (c.active === 0) c.socket.end();
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.max(0, deadlineMs));
        }),
      ]);
      clearTimeout(timer);
    }
    const cut = this.inFlight;
    for (const s of this.sessions) s.destroy();
    // A destroyed session only half-closes its socket while the peer keeps streams open.
    for (const socket of this.sockets) socket.destroy();
    return cut;
  }
}
