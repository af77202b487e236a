/**
 * Small, strict HTTP helpers for the device endpoints: bounded bodies, JSON objects only, error
 * bodies that never echo input or internals. 4xx bodies carry the error code and message; 5xx
 * bodies carry the code and a request id only.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { depthExceeds } from '../../shared/depth.js';
import { DeviceError, httpStatusOf } from '../errors.js';

export const BODY_TIMEOUT_MS = 10_000;

/** Reads the whole body, refusing it as soon as it exceeds `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(
      () =>
        finish(new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'the request body took too long')),
      BODY_TIMEOUT_MS,
    );
    const finish = (err?: DeviceError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (err) {
        req.resume();
        reject(err);
      } else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onError = (): void =>
      finish(new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'the request body could not be read'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function tooLarge(limit: number): DeviceError {
  return new DeviceError(
    'ZT_DEVICE_REQUEST_TOO_LARGE',
    `the request body is larger than ${limit} bytes`,
  );
}

export function requireJsonPost(req: IncomingMessage): void {
  if (req.method !== 'POST')
    throw new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'this endpoint takes POST only');
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type !== 'application/json')
    throw new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'the request must be `application/json`');
}

/** Parses a JSON object (nesting at most `maxDepth`); anything else is `ZT_DEVICE_REQUEST_MALFORMED`. */
export function parseJsonObject(body: Buffer | string, maxDepth = 8): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    throw new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'the request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'the request body must be a JSON object');
  if (depthExceeds(value, maxDepth))
    throw new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'the request body nests too deeply');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** Sends an error the way every device endpoint does; returns the status sent. */
export function sendError(
  res: ServerResponse,
  err: unknown,
  requestId: string = randomUUID(),
): number {
  if (err instanceof DeviceError) {
    const status = httpStatusOf(err.code);
    const body =
      status >= 500
        ? { error: { code: err.code, request_id: requestId } }
        : {
            error: {
              code: err.code,
              message: err.message,
              ...(err.help ? { help: err.help } : {}),
            },
          };
    sendJson(res, status, body);
    return status;
  }
  sendJson(res, 500, { error: { code: 'internal', request_id: requestId } });
  return 500;
}

/** The client address for the audit log. */
export function sourceIp(req: IncomingMessage): string | undefined {
  return req.socket.remoteAddress ?? undefined;
}
