/**
 * Reading a request body as JSON, defensively: only `application/json`, bounded while reading (not
 * just by `Content-Length`), strict UTF-8, bounded nesting checked before parsing (so no parser or
 * reviver recursion can overflow the stack), no `__proto__`/`constructor`/`prototype` keys (a
 * later copy or merge must never reach an object's prototype) and no number JSON cannot represent
 * exactly as a finite double.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { AdminError, badRequest } from '../problem.js';

export type AnyRequest = IncomingMessage | Http2ServerRequest;

/** The default largest body: a whole routes-and-policies document fits with room to spare. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Deepest nesting of arrays and objects accepted (policies nest `any`/`all`/`not` up to 32). */
export const MAX_JSON_DEPTH = 64;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** `application/json`, optionally with `charset=utf-8`; nothing else. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [type, ...params] = value.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

export function unsupportedMediaType(): AdminError {
  return new AdminError(
    'ZT_ADMIN_UNSUPPORTED_MEDIA_TYPE',
    'the request body must be `application/json`',
    { help: 'send `Content-Type: application/json` with a JSON body' },
  );
}

function tooLarge(max: number): AdminError {
  return new AdminError('ZT_ADMIN_BODY_TOO_LARGE', `the request body is larger than ${max} bytes`, {
    // the rest of the body is not read: the connection cannot be reused
    headers: { connection: 'close' },
  });
}

/** Reads the raw body, refusing it as soon as it passes `max` bytes. */
export async function readBody(req: AnyRequest, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && (!/^\d{1,15}$/.test(declared) || Number(declared) > max)) {
    if (!/^\d{1,15}$/.test(declared)) throw badRequest('malformed `Content-Length`');
    throw tooLarge(max);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > max) throw tooLarge(max);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a body as JSON with the guards above; `undefined` for an empty body. */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    throw badRequest('the request body is not valid UTF-8');
  }
  if (exceedsDepth(text, MAX_JSON_DEPTH)) {
    throw badRequest(`the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(key);
      if (typeof value === 'number' && !Number.isFinite(value)) throw new BadNumber();
      return value;
    });
  } catch (err) {
    if (err instanceof ForbiddenKey) {
      throw badRequest(`the key \`${err.key}\` is not accepted anywhere in a request body`);
    }
    if (err instanceof BadNumber) {
      throw badRequest('the JSON body holds a number too large to represent');
    }
    // SyntaxError messages quote the input: say only where it went wrong
    throw badRequest('the request body is not valid JSON', 'send one JSON value, UTF-8 encoded');
  }
}

class ForbiddenKey extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

class BadNumber extends Error {}

/** Nesting depth of JSON text, counted outside strings, without parsing it. */
function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
