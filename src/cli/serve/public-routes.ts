/**
 * What the public host (`public_url`) serves besides the proxy's own endpoints (forward auth,
 * JWKS, health): sign-in and the built-in IdP, step-up, the device endpoints, the CRL and the
 * SPIFFE trust bundle, and the small landing page. One function, mounted as the proxy's
 * `publicHandler`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeviceEndpoints } from '../../device/http/endpoints.js';
import type { Identity } from '../../identity/identity.js';
import { esc } from '../../identity/idp/pages.js';
import { sessionIdFromCookies } from '../../identity/session/cookie.js';
import type { AnyRequest, AnyResponse, PublicHandler } from '../../pep/options.js';
import { clientCertFingerprint } from './client-cert.js';
import { STEP_UP_PATH } from './identity-port.js';

export interface PublicRoutesOptions {
  readonly identity: Identity;
  readonly devices: DeviceEndpoints;
  readonly crl: (req: IncomingMessage, res: ServerResponse) => void;
  readonly bundle: (req: IncomingMessage, res: ServerResponse) => void;
  /** the routes' `from` URLs, for the landing page */
  readonly apps: () => readonly string[];
  /** where `/` sends a signed-in browser (the user portal); without it `/` is the landing page */
  readonly portalPath?: string;
  /** more handlers tried before the 404 (the admin API); resolve true when they answered */
  readonly extra?: readonly ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>)[];
  readonly onError: (err: unknown) => void;
}

const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

export function publicRoutes(o: PublicRoutesOptions): PublicHandler {
  const { identity } = o;

  /**
   * `GET /oauth2/step_up?return_to=&max_age=&methods=&handoff=`: MFA again for the public-host
   * session; `handoff` (checked by identity) binds the route host's ticket to this browser.
   */
  const stepUp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://public.invalid');
    const returnTo = url.searchParams.get('return_to') ?? '/';
    const binding = { handoff: url.searchParams.get('handoff') };
    const lookup = await identity.sessions.lookup(sessionIdFromCookies(req.headers.cookie), {
      certFingerprint: clientCertFingerprint(req),
    });
    if (!lookup.ok) {
      // no session here (it ended, or the browser signed in elsewhere): a full sign-in satisfies any step-up
      res.writeHead(302, {
        location: identity.auth.signInUrl(returnTo, binding),
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    const maxAge = Number(url.searchParams.get('max_age'));
    const methods = (url.searchParams.get('methods') ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => /^[a-z0-9_-]{1,32}$/.test(m))
      .slice(0, 8);
    const r = await identity.auth.stepUpRedirect(
      req,
      lookup.session,
      {
        ...(Number.isSafeInteger(maxAge) && maxAge >= 0 ? { max_age: maxAge } : {}),
        ...(methods.length > 0 ? { methods } : {}),
      },
      returnTo,
      binding,
    );
    res.writeHead(302, {
      location: r.location,
      'cache-control': 'no-store',
      ...(r.setCookies.length > 0 ? { 'set-cookie': [...r.setCookies] } : {}),
    });
    res.end();
  };

  const landing = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const lookup = await identity.sessions.lookup(sessionIdFromCookies(req.headers.cookie), {
      certFingerprint: clientCertFingerprint(req),
    });
    if (lookup.ok && o.portalPath !== undefined) {
      res.writeHead(302, { location: o.portalPath, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    const who = lookup.ok
      ? `<p>Signed in as <strong>${esc(lookup.session.user.email)}</strong>.</p><form method="post" action="/oauth2/sign_out"><button type="submit">Sign out</button></form>`
      : `<p>You are not signed in. Open an app below to sign in.</p>`;
    const apps = o
      .apps()
      .map((a) => `<li><a href="${esc(a)}">${esc(a)}</a></li>`)
      .join('');
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>ztgate</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}h1{font-size:1.4rem}</style></head><body><main><h1>ztgate</h1>${who}<h2>Apps</h2><ul>${apps || '<li>No routes are configured.</li>'}</ul></main></body></html>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    res.end(html);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/pki/crl') return o.crl(req, res);
    if (path === '/pki/bundle') return o.bundle(req, res);
    // the device endpoints read the verified client certificate from the socket themselves
    if (path.startsWith('/api/device/') && (await o.devices.route(req, res))) return;
    if (path === STEP_UP_PATH && req.method === 'GET') return stepUp(req, res);
    if (await identity.handle(req, res)) return;
    for (const h of o.extra ?? []) if (await h(req, res)) return;
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) return landing(req, res);
    res.writeHead(404, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end('not found\n');
  };

  return (req: AnyRequest, res: AnyResponse) => {
    // The HTTP/2 compatibility objects offer what these handlers use (url, method, headers,
    // socket, writeHead, setHeader, end); Koa (the built-in IdP) supports them as well.
    const r = req as IncomingMessage;
    const s = res as ServerResponse;
    handle(r, s).catch((err: unknown) => {
      o.onError(err);
      if (!s.headersSent) {
        s.writeHead(500, {
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
        });
        s.end('internal error\n');
      } else {
        s.destroy();
      }
    });
  };
}
