/**
 * Cross-site request forgery: a browser attaches the session cookie to requests other sites make
 * it send. A cookie-authenticated request that changes anything must therefore prove it comes from
 * ztgate's own pages, twice over:
 *
 * - `Origin` equals the origin of `public_url` (browsers always send it on cross-origin and on
 *   same-origin non-GET fetches; a missing one is refused);
 * - the custom header `X-Ztgate-Csrf: 1`, which no form, link or image can send, and which another
 *   origin can only send after a CORS preflight this API never approves.
 *
 * `SameSite=Lax` on the cookie already keeps it off cross-site POSTs; these checks do not rely on
 * it (older browsers, same-site sibling hosts). Requests with an API token carry no ambient
 * credential and are exempt.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AdminError } from '../problem.js';

export const CSRF_HEADER = 'x-ztgate-csrf';

function refuse(message: string): never {
  throw new AdminError('ZT_ADMIN_CSRF_REFUSED', message, {
    help: `send \`Origin\` and \`X-Ztgate-Csrf: 1\` from ztgate's own origin, or use an API token`,
  });
}

export function checkCsrf(headers: IncomingHttpHeaders, publicUrl: string): void {
  const expected = new URL(publicUrl).origin;
  const origin = headers.origin;
  if (origin === undefined) refuse('a change made with a session cookie must carry `Origin`');
  if (origin !== expected) refuse('the request comes from another origin');
  if (headers[CSRF_HEADER] !== '1')
    refuse(`a change made with a session cookie needs \`X-Ztgate-Csrf: 1\``);
}
