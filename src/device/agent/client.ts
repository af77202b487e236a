/**
 * The agent's HTTPS client: JSON requests to the ztgate server, with the device key and
 * certificate for mutual TLS once enrolled. The server certificate is always verified: against the
 * system CAs, or against `server-ca.pem` when the agent was enrolled with `--ca`.
 */
import { request } from 'node:https';
import { DeviceError } from '../errors.js';

export interface ServerConnection {
  readonly server: string;
  /** PEM CA bundle the server's certificate must chain to; default: the system CAs */
  readonly ca?: string | undefined;
  /** mutual TLS */
  readonly keyPem?: string | undefined;
  readonly certPem?: string | undefined;
  readonly timeoutMs?: number;
}

export interface JsonResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const MAX_RESPONSE_BYTES = 256 * 1024;

/** `https://host[:port][/prefix]` only; returns the base URL without a trailing slash. */
export function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DeviceError('ZT_DEVICE_SERVER_UNREACHABLE', `\`--server\` is not a URL`, {
      help: 'give the server URL, such as `https://auth.example.com`',
    });
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) {
    throw new DeviceError(
      'ZT_DEVICE_SERVER_UNREACHABLE',
      '`--server` must be an `https://` URL without user, query or fragment',
      {
        help: 'give the server URL, such as `https://auth.example.com`',
      },
    );
  }
  return url;
}

function clean(text: unknown, max = 300): string {
  const s = typeof text === 'string' ? text : '';
  let out = '';
  for (const ch of s.slice(0, max)) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f ? ' ' : ch;
  }
  return out;
}

/** POSTs JSON; a non-2xx answer is `ZT_DEVICE_SERVER_REFUSED` carrying the server's error code. */
export function postJson(
  conn: ServerConnection,
  path: string,
  body: unknown,
): Promise<JsonResponse> {
  const base = parseServerUrl(conn.server);
  const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const timeoutMs = conn.timeoutMs ?? 15_000;
  return new Promise<JsonResponse>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          accept: 'application/json',
        },
        ...(conn.ca ? { ca: conn.ca } : {}),
        ...(conn.keyPem && conn.certPem ? { key: conn.keyPem, cert: conn.certPem } : {}),
        rejectUnauthorized: true,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            reject(
              new DeviceError(
                'ZT_DEVICE_SERVER_UNREACHABLE',
                'the server answered with more data than expected',
              ),
            );
          } else chunks.push(c);
        });
        res.on('error', (err) => reject(unreachable(err)));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          const obj =
            parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
              ? (parsed as Record<string, unknown>)
              : {};
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve({ status, body: obj });
            return;
          }
          const error = (obj.error ?? {}) as Record<string, unknown>;
          const code = clean(error.code, 64) || `HTTP ${status}`;
          const message = clean(error.message) || `the server answered ${status}`;
          const err = new DeviceError(
            'ZT_DEVICE_SERVER_REFUSED',
            `the server refused the request: ${code}: ${message}`,
            {
              ...(typeof error.help === 'string' ? { help: clean(error.help) } : {}),
            },
          );
          reject(Object.assign(err, { serverCode: code, status }));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(unreachable(err)));
    req.end(payload);
  });
}

function unreachable(err: Error): DeviceError {
  const code = (err as NodeJS.ErrnoException).code;
  return new DeviceError(
    'ZT_DEVICE_SERVER_UNREACHABLE',
    `the server cannot be reached: ${code ? `${code}: ` : ''}${clean(err.message, 200)}`,
    {
      help:
        code && /CERT|SELF_SIGNED|UNABLE_TO/.test(code)
          ? 'the server certificate is not trusted: give its CA with `--ca FILE`'
          : 'check the URL, the network and that the server runs',
    },
  );
}

/** The server error code of a refusal (`ZT_DEVICE_REVOKED`, ...), if it was one. */
export function serverCodeOf(err: unknown): string | undefined {
  return err instanceof DeviceError && err.code === 'ZT_DEVICE_SERVER_REFUSED'
    ? (err as DeviceError & { serverCode?: string }).serverCode
    : undefined;
}
