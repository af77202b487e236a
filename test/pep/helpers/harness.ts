/**
 * A proxy on 127.0.0.1 port 0 with real TLS (a self-signed certificate made with openssl), real
 * upstreams and the test doubles of src/pep/testing for identity, devices and audit; clients over
 * node:https, node:http2, raw TLS sockets and curl.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ConfigSchema, type ConfigInput } from '../../../src/config/schema.js';
import { buildEngine, type PolicyEngine } from '../../../src/pdp/index.js';
import { AssertionSigner } from '../../../src/pep/assertion/assertion.js';
import { KeyRing, MemoryKeyRingStorage } from '../../../src/pep/assertion/key-ring.js';
import { createProxy, type Proxy } from '../../../src/pep/proxy.js';
import type { ProxyOptions, ProxyRoute } from '../../../src/pep/options.js';
import { MemoryAuditDouble } from '../../../src/pep/testing/memory-audit.js';
import { MemoryDevicesDouble } from '../../../src/pep/testing/memory-devices.js';
import { ManualClock } from '../../../src/pep/testing/manual-clock.js';
import { selfSignedLocalhost, type TestPki } from '../../../src/pep/testing/self-signed.js';
import { StaticIdentityDouble } from '../../../src/pep/testing/static-identity.js';

export const PUBLIC_URL = 'https://auth.localhost';
export const T0 = Date.parse('2026-11-22T10:00:00Z');

let shared: TestPki | undefined;
/** One certificate per test process (openssl takes ~20 ms); removed at exit. */
export function pki(): TestPki {
  if (!shared) {
    shared = selfSignedLocalhost();
    const s = shared;
    process.once('exit', () => s.cleanup());
  }
  return shared;
}

export function engineFor(config: ConfigInput): PolicyEngine<ProxyRoute> {
  const parsed = ConfigSchema.parse(config);
  const { engine, problems } = buildEngine(parsed, () => undefined);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('; '));
  return engine;
}

// ---------------------------------------------------------------------------------------------
// Upstreams

export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: string;
}

export interface Upstream {
  readonly url: string;
  readonly port: number;
  readonly seen: Seen[];
  readonly server: http.Server;
  close(): Promise<void>;
}

/**
 * An upstream that answers `200 {method,url,headers,body}` (or what `handler` writes), and
 * accepts WebSocket upgrades as an echo server.
 */
export async function startUpstream(
  handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void,
): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      if (handler) return handler(req, res, body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: '',
    });
    acceptWebSocket(req, socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
        server.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// A minimal WebSocket (RFC 6455): handshake, and text frames up to 125 bytes; enough for tests.

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function acceptWebSocket(req: http.IncomingMessage, socket: Duplex): void {
  const key = req.headers['sec-websocket-key'];
  const accept = createHash('sha1')
    .update(`${String(key)}${WS_GUID}`)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.on('error', () => socket.destroy());
  // the server socket is half-open after the client's FIN: close it too
  socket.on('end', () => socket.end());
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const f = readFrame(buf, true);
      if (!f) return;
      buf = buf.subarray(f.length);
      if (f.opcode === 8) {
        socket.end();
        return;
      }
      socket.write(frame(`echo:${f.text}`, false));
    }
  });
}

export function frame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('test frames are short');
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
  return Buffer.concat([head, key, masked]);
}

function readFrame(
  buf: Buffer,
  masked: boolean,
): { opcode: number; text: string; length: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = (buf[0] as number) & 0x0f;
  const len = (buf[1] as number) & 0x7f;
  const start = 2 + (masked ? 4 : 0);
  if (buf.length < start + len) return undefined;
  let payload = buf.subarray(start, start + len);
  if (masked) {
    const key = buf.subarray(2, 6);
    payload = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
  }
  return { opcode, text: payload.toString('utf8'), length: start + len };
}

export interface WsClient {
  readonly status: number;
  readonly head: string;
  readonly socket: tls.TLSSocket;
  send(text: string): void;
  next(timeoutMs?: number): Promise<string>;
  closed: Promise<number>;
}

/** Opens a WebSocket through the proxy; resolves after the response head (101 or a refusal). */
export function openWebSocket(
  port: number,
  host: string,
  path: string,
  headers: Record<string, string> = {},
  trust: { readonly ca?: string; readonly servername?: string } = {},
): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      servername: trust.servername ?? 'localhost',
      ca: trust.ca ?? pki().cert,
      ALPNProtocols: ['http/1.1'],
    });
    let buf = Buffer.alloc(0);
    let headDone = false;
    const messages: string[] = [];
    const waiters: ((m: string) => void)[] = [];
    const closed = new Promise<number>((r) => socket.on('close', () => r(performance.now())));
    socket.on('error', () => undefined);
    socket.on('secureConnect', () => {
      const extra = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!headDone) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        headDone = true;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        resolve({
          status,
          head: `${head}\r\n\r\n${status === 101 ? '' : buf.toString('utf8')}`,
          socket,
          send: (text) => socket.write(frame(text, true)),
          next: (timeoutMs = 2000) =>
            new Promise<string>((res, rej) => {
              const m = messages.shift();
              if (m !== undefined) return res(m);
              const t = setTimeout(() => rej(new Error('no WebSocket message')), timeoutMs);
              waiters.push((msg) => {
                clearTimeout(t);
                res(msg);
              });
            }),
          closed,
        });
      }
      for (;;) {
        const f = readFrame(buf, false);
        if (!f) break;
        buf = buf.subarray(f.length);
        const w = waiters.shift();
        if (w) w(f.text);
        else messages.push(f.text);
      }
    });
    setTimeout(() => reject(new Error('WebSocket handshake timed out')), 5000).unref();
  });
}

// ---------------------------------------------------------------------------------------------
// The proxy

export interface Harness {
  readonly proxy: Proxy;
  readonly port: number;
  readonly metricsPort: number | undefined;
  readonly identity: StaticIdentityDouble;
  readonly devices: MemoryDevicesDouble;
  readonly audit: MemoryAuditDouble;
  readonly clock: ManualClock;
  readonly keys: KeyRing;
  readonly accessLog: string[];
  readonly log: string[];
  close(drainMs?: number): Promise<void>;
}

export async function startProxy(
  engine: PolicyEngine<ProxyRoute>,
  options: Partial<ProxyOptions> = {},
): Promise<Harness> {
  const clock = new ManualClock(T0);
  const keys = new KeyRing(new MemoryKeyRingStorage(), {
    rotateAfterMs: 24 * 3_600_000,
    maxTokenTtlMs: 5 * 60_000,
  });
  await keys.refresh(T0);
  const identity = new StaticIdentityDouble(PUBLIC_URL);
  const devices = new MemoryDevicesDouble();
  const audit = new MemoryAuditDouble();
  const accessLog: string[] = [];
  const log: string[] = [];
  const { cert, key } = pki();
  const proxy = createProxy({
    engine,
    publicUrl: PUBLIC_URL,
    tls: { cert, key },
    listen: { host: '127.0.0.1', port: 0 },
    identity,
    devices,
    audit,
    assertions: new AssertionSigner(keys, PUBLIC_URL),
    jwks: () => keys.jwks(),
    clock,
    accessLog: (l) => accessLog.push(l),
    log: (l) => log.push(l),
    ...options,
  });
  const { port, metricsPort } = await proxy.listen();
  return {
    proxy,
    port,
    metricsPort,
    identity,
    devices,
    audit,
    clock,
    keys,
    accessLog,
    log,
    close: (drainMs = 200) => proxy.close(drainMs),
  };
}

// ---------------------------------------------------------------------------------------------
// Clients

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | Buffer;
  /** extra TLS options (client certificates) */
  readonly tls?: tls.ConnectionOptions;
  readonly timeoutMs?: number;
}

/** An HTTP/1.1 request over TLS to the proxy, with `Host: host` and SNI `host`. */
export function request(
  port: number,
  host: string,
  path: string,
  options: RequestOptions = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        // `*.localhost` has too few labels for Node's wildcard matching: verify as `localhost`
        servername: 'localhost',
        path,
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
        ca: pki().cert,
        agent: false,
        ...options.tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error('client timeout')));
    req.end(options.body);
  });
}

/** An HTTP/2 request (ALPN h2) to the proxy. */
export function request2(
  port: number,
  host: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer & { readonly alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ca: pki().cert,
      servername: 'localhost',
    });
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':authority': host, ...headers });
    const chunks: Buffer[] = [];
    let status = 0;
    let got: http.IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      status = Number(h[':status']);
      got = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const alpn = (session.socket as tls.TLSSocket).alpnProtocol ?? false;
      session.close();
      resolve({ status, headers: got, body: Buffer.concat(chunks).toString('utf8'), alpn });
    });
    stream.on('error', reject);
    stream.end();
  });
}

/** Raw bytes over TLS (HTTP/1.1 by ALPN); resolves with everything received until close. */
export function rawTls(port: number, bytes: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: pki().cert,
      ALPNProtocols: ['http/1.1'],
    });
    let data = '';
    socket.on('secureConnect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(data));
    setTimeout(() => socket.destroy(), timeoutMs).unref();
  });
}

export function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

/** Runs curl; resolves with stdout (curl exits non-zero on transport errors only). */
export function curl(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`curl failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}

export function json(a: Answer): Record<string, unknown> {
  return JSON.parse(a.body) as Record<string, unknown>;
}
