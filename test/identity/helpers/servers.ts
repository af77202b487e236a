/**
 * Real HTTPS servers on 127.0.0.1 (port 0) with a self-signed certificate made for the test run, and
 * a small cookie-keeping HTTP client that trusts it, for driving sign-ins without a browser.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LookupFunction } from 'node:net';
import { caFetch, type FetchLike } from '../../../src/identity/rp/ca-fetch.js';

export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
}

let cached: TestCertificate | undefined;

/** A self-signed P-256 certificate for `localhost` and 127.0.0.1, made once per test process. */
export function testCertificate(): TestCertificate {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cached = {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A self-signed P-256 certificate naming each of `names` exactly (`auth.localhost`, ...): Node does
 * not match `*.localhost` (too few labels), so tests that use several hosts name them all.
 */
export function certificateFor(names: readonly string[]): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${names[0] ?? 'localhost'}`,
        '-addext',
        `subjectAltName=${[...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',')}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A DNS lookup that sends every name to 127.0.0.1 (`app.localhost`, `auth.localhost`, ...). */
export const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if ((options as { all?: boolean }).all === true) {
    (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(
      null,
      [{ address: '127.0.0.1', family: 4 }],
    );
  } else {
    callback(null, '127.0.0.1', 4);
  }
};

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface TestServer {
  /** `https://localhost:<port>` */
  readonly origin: string;
  readonly port: number;
  readonly server: Server;
  setHandler(handler: Handler): void;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1; the handler can be set (or swapped) after the port is known. */
export async function startServer(handler?: Handler, port = 0): Promise<TestServer> {
  const { cert, key } = testCertificate();
  let current: Handler = handler ?? ((_req, res) => void res.writeHead(503).end());
  const server = createServer({ cert, key }, (req, res) => {
    Promise.resolve(current(req, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`test server error: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    origin: `https://localhost:${bound}`,
    port: bound,
    server,
    setHandler: (h) => {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The fetch ztgate's relying party uses in tests: trusts the test certificate. */
export function testFetch(): FetchLike {
  return caFetch(testCertificate().cert);
}

export interface AgentResponse {
  readonly status: number;
  readonly url: string;
  readonly headers: Headers;
  readonly body: string;
}

type Jar = Map<string, { value: string; path: string }>;

/**
 * A browser stand-in: keeps cookies (by name and path, on every host: tests use localhost only;
 * with `perHost`, by host as a browser does), follows redirects, sends Origin on POSTs like a
 * browser would.
 */
export class TestAgent {
  /** the cookies (without `perHost`) */
  readonly cookies: Jar = new Map();
  private readonly hosts = new Map<string, Jar>();
  private readonly fetch: FetchLike;
  private readonly perHost: boolean;

  constructor(options: { fetch?: FetchLike; perHost?: boolean } = {}) {
    this.fetch = options.fetch ?? testFetch();
    this.perHost = options.perHost ?? false;
  }

  /** The cookies kept for `host` (`app.localhost:8443`); all of them without `perHost`. */
  jar(host: string): Jar {
    if (!this.perHost) return this.cookies;
    let jar = this.hosts.get(host);
    if (!jar) this.hosts.set(host, (jar = new Map<string, { value: string; path: string }>()));
    return jar;
  }

  cookieHeader(path: string, host = ''): string {
    return [...this.jar(host).entries()]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([n, c]) => `${n}=${c.value}`)
      .join('; ');
  }

  private store(headers: Headers, host: string): void {
    const jar = this.jar(host);
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq);
      const value = (pair ?? '').slice(eq + 1);
      let path = '/';
      let remove = false;
      for (const a of attrs) {
        const [k, v] = a.split('=');
        if (k?.toLowerCase() === 'path' && v) path = v;
        if (k?.toLowerCase() === 'max-age' && Number(v) <= 0) remove = true;
        if (k?.toLowerCase() === 'expires' && v && Date.parse(v) < Date.now()) remove = true;
      }
      if (remove || value === '') jar.delete(name);
      else jar.set(name, { value, path });
    }
  }

  async request(
    url: string,
    init: {
      method?: string;
      form?: Record<string, string>;
      json?: unknown;
      follow?: boolean;
      headers?: Record<string, string>;
    } = {},
  ): Promise<AgentResponse> {
    let target = url;
    let method = init.method ?? (init.form || init.json !== undefined ? 'POST' : 'GET');
    let body: string | undefined = init.form
      ? new URLSearchParams(init.form).toString()
      : init.json !== undefined
        ? JSON.stringify(init.json)
        : undefined;
    let contentType = init.form
      ? 'application/x-www-form-urlencoded'
      : init.json !== undefined
        ? 'application/json'
        : undefined;
    for (let hop = 0; hop < 20; hop++) {
      const u = new URL(target);
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      const cookie = this.cookieHeader(u.pathname, u.host);
      if (cookie) headers.cookie = cookie;
      if (contentType) headers['content-type'] = contentType;
      if (method === 'POST' && !headers.origin) headers.origin = u.origin;
      const res = await this.fetch(target, { method, headers, body });
      this.store(res.headers, u.host);
      const location = res.headers.get('location');
      if (init.follow !== false && location && res.status >= 300 && res.status < 400) {
        target = new URL(location, target).href;
        if (res.status !== 307 && res.status !== 308) {
          method = 'GET';
          body = undefined;
          contentType = undefined;
        }
        continue;
      }
      const text = await res.text();
      // oidc-provider's self-submitting forms (form_post, logout before a new sign-in): a browser
      // runs their script; do what it would.
      const auto = /document\.forms\[0\]\.submit\(\)/.test(text)
        ? /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(text)
        : null;
      if (init.follow !== false && auto?.[1]) {
        const fields: Record<string, string> = {};
        for (const m of (auto[2] ?? '').matchAll(
          /<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g,
        )) {
          fields[m[1] ?? ''] = m[2] ?? '';
        }
        target = new URL(auto[1], target).href;
        method = 'POST';
        body = new URLSearchParams(fields).toString();
        contentType = 'application/x-www-form-urlencoded';
        continue;
      }
      return { status: res.status, url: target, headers: res.headers, body: text };
    }
    throw new Error('too many redirects');
  }
}

/** The value of an input or of a `<form action>` in a page. */
export function formAction(html: string, contains: string): string {
  const m = new RegExp(`<form[^>]*action="([^"]*${contains}[^"]*)"`).exec(html);
  if (!m?.[1]) throw new Error(`no form posting to ${contains} in:\n${html.slice(0, 2000)}`);
  return m[1].replace(/&#38;/g, '&');
}
