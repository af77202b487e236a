/**
 * A fetch for the relying party's calls to an IdP whose certificate is issued by a private CA:
 * ztgate's own internal CA (the built-in IdP at public_url) or a company CA in front of Keycloak.
 * Node's global fetch cannot take extra trust anchors per call, so this is a small fetch over
 * node:https with `ca` set. It never follows redirects (openid-client asks for `manual`).
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { LookupFunction } from 'node:net';

export interface FetchOptionsLike {
  readonly body?: unknown;
  readonly headers?: Record<string, string> | undefined;
  readonly method?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type FetchLike = (url: string, options: FetchOptionsLike) => Promise<Response>;

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

function bodyOf(body: FetchOptionsLike['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(new Uint8Array(body));
  throw new TypeError('unsupported request body');
}

/** A fetch that trusts `ca` (PEM, one or more certificates) for https URLs. */
export function caFetch(
  ca: string | readonly string[],
  options: { timeoutMs?: number; lookup?: LookupFunction } = {},
): FetchLike {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const body = bodyOf(init.body);
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
        headers['content-length'] = String(body.length);
      }
      const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
        target,
        {
          method: init.method ?? 'GET',
          headers,
          ...(target.protocol === 'https:' ? { ca: typeof ca === 'string' ? ca : [...ca] } : {}),
          timeout: options.timeoutMs ?? 10_000,
          ...(options.lookup ? { lookup: options.lookup } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new Error('response too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (Array.isArray(v)) for (const x of v) h.append(k, x);
              else if (v !== undefined) h.set(k, v);
            }
            const status = res.statusCode ?? 502;
            const noBody = status === 204 || status === 304 || (init.method ?? 'GET') === 'HEAD';
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: h }));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    });
}
