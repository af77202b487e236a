/**
 * Browser or API client? A browser loading a page is sent to sign in (302); an API client gets a
 * 401 JSON it can act on. A request is a browser's when it carries no `Authorization` header and
 * asks for HTML (`Accept: text/html`, or `Sec-Fetch-Mode: navigate`) rather than JSON.
 */
import type { IncomingHttpHeaders } from 'node:http';

export function isBrowser(headers: IncomingHttpHeaders): boolean {
  if (headers.authorization !== undefined) return false;
  const accept = headers.accept;
  if (typeof accept === 'string') {
    const html = accept.indexOf('text/html');
    if (html >= 0) {
      const json = accept.indexOf('application/json');
      // `Accept: application/json, text/html;q=0.1`: JSON first, an API client
      return json < 0 || html < json;
    }
  }
  return headers['sec-fetch-mode'] === 'navigate';
}
