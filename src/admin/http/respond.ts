/**
 * Writing admin API responses: JSON only, with the headers that keep a browser from reading them
 * as anything else. Every value shown may come from an attacker (a host name a device chose, an
 * email, a policy description), so the JSON text also escapes `<`, `>`, `&` and the two line
 * separators JavaScript treats as newlines: the body stays inert even if something embeds it in
 * HTML or a script.
 */
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

export type AnyResponse = ServerResponse | Http2ServerResponse;

export const JSON_TYPE = 'application/json; charset=utf-8';
export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/** Sent with every answer, success or problem. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

const UNSAFE = /[<>&\u2028\u2029]/g;
const ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** JSON text that is still the same JSON value, with HTML-significant characters escaped. */
export function encodeJson(value: unknown): string {
  // These characters only occur inside JSON strings, where `\uXXXX` means the same character.
  return JSON.stringify(value).replace(UNSAFE, (c) => ESCAPES[c] ?? c);
}

export function sendJson(
  res: AnyResponse,
  status: number,
  body: unknown,
  options: { readonly problem?: boolean; readonly headers?: Readonly<Record<string, string>> } = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = status === 204 ? '' : encodeJson(body);
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    ...(options.headers ?? {}),
  };
  if (status !== 204) {
    headers['content-type'] = options.problem ? PROBLEM_TYPE : JSON_TYPE;
    headers['content-length'] = Buffer.byteLength(text);
  }
  res.writeHead(status, headers);
  res.end(text);
}
