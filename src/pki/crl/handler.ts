/**
 * The HTTP handler for `{public_url}/pki/crl`: GET or HEAD, the current CRL as DER with
 * `Content-Type: application/pkix-crl`, cacheable until it is due to be refreshed. When no valid
 * CRL can be produced it answers 503 (fail closed), never an old one past its nextUpdate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CrlPublisher } from './crl.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createCrlHandler(
  publisher: CrlPublisher,
  options: { onError?: (err: unknown) => void } = {},
): RequestHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    publisher.current().then(
      (crl) => {
        const maxAge = Math.max(
          0,
          Math.min(3600, Math.floor((publisher.refreshAt(crl) - Date.now()) / 1000)),
        );
        res.writeHead(200, {
          'content-type': 'application/pkix-crl',
          'content-length': crl.der.length,
          'cache-control': `public, max-age=${maxAge}`,
          'last-modified': new Date(crl.thisUpdate).toUTCString(),
          expires: new Date(crl.nextUpdate).toUTCString(),
          'x-content-type-options': 'nosniff',
        });
        res.end(req.method === 'HEAD' ? undefined : crl.der);
      },
      (err: unknown) => {
        options.onError?.(err);
        res.writeHead(503, {
          'content-type': 'application/json',
          'retry-after': '30',
          'cache-control': 'no-store',
        });
        res.end(
          `${JSON.stringify({ error: 'crl_unavailable', message: 'the certificate revocation list is unavailable' })}\n`,
        );
      },
    );
  };
}
