/**
 * Streams audit records to a syslog receiver: RFC 5424 messages over TCP with octet-counting
 * framing (RFC 6587 section 3.4.1; over TLS this is RFC 5425). One connection, opened on demand and
 * reopened after an error; a batch counts as delivered once the socket has accepted it.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ZtError } from '../../shared/errors.js';
import { octetCountingFrame, toSyslogMessage, type SyslogFormat } from '../export.js';
import type { AuditRecord } from '../record.js';
import type { AuditSink } from './sink.js';

export interface SyslogSinkOptions extends SyslogFormat {
  readonly name?: string;
  readonly host: string;
  readonly port: number;
  /** TLS (RFC 5425): `ca` to trust a private CA, `servername` for SNI and name checks */
  readonly tls?: {
    readonly ca?: string | Buffer;
    readonly servername?: string;
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
  };
  /** default 5000 ms */
  readonly timeoutMs?: number;
}

export class SyslogSink implements AuditSink {
  readonly name: string;
  private socket: net.Socket | null = null;

  constructor(private readonly options: SyslogSinkOptions) {
    this.name = options.name ?? `syslog-${options.host}-${options.port}`;
  }

  private connect(): Promise<net.Socket> {
    const o = this.options;
    const timeoutMs = o.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = o.tls
        ? tls.connect({
            host: o.host,
            port: o.port,
            servername: o.tls.servername ?? (net.isIP(o.host) ? undefined : o.host),
            ...(o.tls.ca ? { ca: o.tls.ca } : {}),
            ...(o.tls.cert ? { cert: o.tls.cert } : {}),
            ...(o.tls.key ? { key: o.tls.key } : {}),
          })
        : net.connect({ host: o.host, port: o.port });
      const timer = setTimeout(
        () => fail(new Error(`connecting timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.setNoDelay(true);
        socket.on('error', () => {
          if (this.socket === socket) this.socket = null;
        });
        socket.on('close', () => {
          if (this.socket === socket) this.socket = null;
        });
        // a receiver does not talk back; drain anything it sends
        socket.resume();
        resolve(socket);
      });
    });
  }

  async deliver(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const payload = records
      .map((r) => octetCountingFrame(toSyslogMessage(r, this.options)))
      .join('');
    try {
      this.socket ??= await this.connect();
      const socket = this.socket;
      await new Promise<void>((resolve, reject) => {
        socket.write(payload, 'utf8', (err) => (err ? reject(err) : resolve()));
      });
    } catch (err) {
      this.socket?.destroy();
      this.socket = null;
      throw new ZtError(
        'ZT_AUDIT_SINK_FAILED',
        `syslog receiver ${this.options.host}:${this.options.port}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.end(() => resolve());
      setTimeout(resolve, 1000).unref();
    });
    socket.destroy();
  }
}
