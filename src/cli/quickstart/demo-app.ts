/**
 * The quickstart's demo upstream: an app that trusts nothing about the network it sits on. Every
 * request must carry an `X-Ztgate-Jwt-Assertion` that verifies against ztgate's JWKS (issuer,
 * audience, ES256, expiry); the page shows the identity it received. Without a valid assertion it
 * answers 401, which is what an upstream behind ztgate should do when someone bypasses the proxy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { JWK } from 'jose';
import { verifyAssertion, type AssertionClaims } from '../../pep/assertion/assertion.js';

export interface DemoAppOptions {
  /** ztgate's public_url: the expected `iss` */
  readonly issuer: string;
  /** fetches ztgate's JWKS (`{public_url}/.well-known/ztgate/jwks.json`) */
  readonly fetchJwks: () => Promise<{ keys: JWK[] }>;
  /** the app's name on the page */
  readonly title?: string;
  /**
   * hosts of public routes (`public.localhost:8443`): ztgate forwards anonymous visitors there
   * without an assertion, so the page greets them instead of refusing
   */
  readonly publicHosts?: readonly string[];
  readonly now?: () => number;
}

/** Refetch the JWKS at most this often when an unknown key id shows up (key rotation). */
const REFETCH_MIN_MS = 30_000;

export function createDemoApp(options: DemoAppOptions): Server {
  let jwks: { keys: JWK[] } | undefined;
  let fetchedAt = 0;
  const now = options.now ?? Date.now;

  async function keys(kid: string | undefined): Promise<{ keys: JWK[] }> {
    const known = jwks?.keys.some((k) => k.kid === kid);
    if (!jwks || (!known && now() - fetchedAt > REFETCH_MIN_MS)) {
      jwks = await options.fetchJwks();
      fetchedAt = now();
    }
    return jwks;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === '/healthz') return send(res, 200, 'text/plain', 'ok\n');
    const token = req.headers['x-ztgate-jwt-assertion'];
    // the assertion's audience is the route host as the browser wrote it, minus a default port
    const host = (req.headers['x-forwarded-host'] ?? req.headers.host ?? '')
      .toString()
      .toLowerCase()
      .replace(/:443$/, '');
    if (typeof token !== 'string' && options.publicHosts?.includes(host)) {
      return send(
        res,
        200,
        'text/html',
        page(
          'Hello, anonymous visitor',
          '<p>This route is public: ztgate let the request through without asking who you are, so no identity assertion came with it. Sign in on another route and come back to see your identity here.</p>',
        ),
      );
    }
    if (typeof token !== 'string') {
      return send(
        res,
        401,
        'text/html',
        page(
          'Not through ztgate',
          '<p>This app accepts only requests that ztgate has authenticated and authorized. No identity assertion came with this one.</p>',
        ),
      );
    }
    let claims: AssertionClaims;
    try {
      const kid = JSON.parse(
        Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'),
      ) as { kid?: string };
      claims = await verifyAssertion(token, await keys(kid.kid), {
        issuer: options.issuer,
        audience: host,
        now: now(),
      });
    } catch {
      return send(
        res,
        401,
        'text/html',
        page(
          'Assertion refused',
          '<p>The identity assertion did not verify (signature, issuer, audience or expiry).</p>',
        ),
      );
    }
    const rows: [string, string][] = [
      ['user', claims.sub],
      ['email', claims.email ?? '—'],
      ['groups', (claims.groups ?? []).join(', ') || '—'],
      ['device', claims.device_id ?? '—'],
      ['audience', String(claims.aud)],
      ['expires', new Date(claims.exp * 1000).toISOString()],
      ['request', `${req.method ?? ''} ${req.url ?? ''}`],
    ];
    const table = rows
      .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
      .join('');
    send(
      res,
      200,
      'text/html',
      page(
        options.title ?? 'ztgate demo app',
        `<p>ztgate let this request through and vouched for its identity. This app verified the signed assertion against ztgate's JWKS before trusting it:</p><table>${table}</table>`,
      ),
    );
  }

  return createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, 'text/plain', 'internal error\n'));
  });
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}h1{font-size:1.4rem}table{border-collapse:collapse}th,td{text-align:left;padding:.3rem .8rem;border-bottom:1px solid #d0d7de}th{color:#57606a;font-weight:500}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
