/**
 * A small HTTPS client for integration tests: trusts the given CA, resolves `*.localhost` to
 * 127.0.0.1 (as browsers and curl do), never follows redirects, and returns status, headers and
 * body as text.
 */
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  json<T = Record<string, unknown>>(): T;
}

const loopback: LookupFunction = (_host, options, callback) => {
  if ((options as { all?: boolean }).all) {
    (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  } else callback(null, '127.0.0.1', 4);
};

export function httpsClient(ca: string) {
  return (
    url: string,
    init: {
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      cert?: string;
      key?: string;
    } = {},
  ): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          headers: init.headers ?? {},
          ca,
          lookup: loopback,
          agent: false,
          ...(init.cert !== undefined ? { cert: init.cert, key: init.key } : {}),
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              json: <T>() => JSON.parse(body) as T,
            }),
          );
        },
      );
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.end(init.body);
    });
}
