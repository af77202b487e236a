/**
 * The SPIFFE trust bundle (SPIFFE Trust Domain and Bundle, section 4; X509-SVID, section 6): a
 * JWK set with one entry per X.509 authority (`use: "x509-svid"`, `x5c` holding exactly that one
 * CA certificate, no `kid`), plus `spiffe_sequence` (changes whenever the set of authorities does)
 * and `spiffe_refresh_hint` (seconds). Served at `{public_url}/pki/bundle`.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SpiffeJwk {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
  readonly use: 'x509-svid';
  readonly x5c: readonly [string];
}

export interface SpiffeBundle {
  readonly keys: readonly SpiffeJwk[];
  readonly spiffe_sequence: number;
  readonly spiffe_refresh_hint: number;
}

export const DEFAULT_REFRESH_HINT_SECONDS = 300;

export function buildTrustBundle(
  authorities: readonly Uint8Array[],
  options: { readonly sequence: number; readonly refreshHintSeconds?: number },
): SpiffeBundle {
  const keys = authorities.map((der): SpiffeJwk => {
    const jwk = new X509Certificate(Buffer.from(der)).publicKey.export({ format: 'jwk' }) as Record<
      string,
      string
    >;
    const pub: Record<string, string> = {};
    for (const k of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (jwk[k] !== undefined) pub[k] = jwk[k];
    return {
      ...(pub as { kty: string }),
      use: 'x509-svid',
      x5c: [Buffer.from(der).toString('base64')],
    };
  });
  return {
    keys,
    spiffe_sequence: options.sequence,
    spiffe_refresh_hint: options.refreshHintSeconds ?? DEFAULT_REFRESH_HINT_SECONDS,
  };
}

/** The HTTP handler for `{public_url}/pki/bundle` (GET or HEAD, `application/json`). */
export function createTrustBundleHandler(
  get: () => SpiffeBundle,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    const bundle = get();
    const body = Buffer.from(`${JSON.stringify(bundle, null, 2)}\n`);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      'cache-control': `public, max-age=${Math.min(bundle.spiffe_refresh_hint, 3600)}`,
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
