/**
 * Small HTTP helpers for identity's request handlers (node:http, no framework): bounded body
 * reading, responses with security headers, same-origin checks for form posts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a request body up to `limit` bytes (413 beyond). */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw new BodyError(413, 'request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new BodyError(413, 'request body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readForm(req: IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new BodyError(415, 'expected a form');
  return new URLSearchParams(await readBody(req, limit));
}

export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new BodyError(415, 'expected JSON');
  try {
    return JSON.parse(await readBody(req, limit)) as unknown;
  } catch (err) {
    if (err instanceof BodyError) throw err;
    throw new BodyError(400, 'malformed JSON');
  }
}

/** The CSP of every identity page: nothing inline, nothing from elsewhere, no framing. */
export function pageCsp(formActions: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    `form-action 'self'${formActions.map((o) => ` ${o}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function securityHeaders(res: ServerResponse, csp?: string): void {
  if (csp) res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on form posts
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
}

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  csp: string,
  headers: Record<string, string | string[]> = {},
): void {
  securityHeaders(res, csp);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(html);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  securityHeaders(res);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function redirect(
  res: ServerResponse,
  location: string,
  setCookies: readonly string[] = [],
  status = 302,
  headers: Record<string, string> = {},
): void {
  securityHeaders(res);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (setCookies.length > 0) res.setHeader('Set-Cookie', [...setCookies]);
  res.statusCode = status;
  res.setHeader('Location', location);
  res.setHeader('Content-Length', '0');
  res.end();
}

/**
 * True when a state-changing request comes from our own pages: an `Origin` header, when present,
 * must be ours, and `Sec-Fetch-Site`, when present, must be same-origin (or none: typed/bookmarked).
 */
export function sameOrigin(req: IncomingMessage, publicOrigin: string): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== publicOrigin) return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  return true;
}

/** The peer address (the composition root may supply a trusted-proxy-aware function instead). */
export function socketIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
