/**
 * Step: refuse requests whose framing is ambiguous (request smuggling, host confusion) with 400,
 * using ../request/check-framing.ts. HTTP/2 has no `Host`/`Content-Length` framing of its own to
 * smuggle with, but `:authority` and a `Host` header must agree, and `:authority` plays the part
 * of `Host` for the same checks.
 */
import type { RequestContext } from '../context.js';
import type { Http2ServerRequest } from 'node:http2';
import { checkFraming as check, type FramingInput } from '../request/check-framing.js';
import { badRequest } from '../respond/replies.js';
import type { StepResult } from './step.js';

export function checkFraming(ctx: RequestContext): StepResult {
  const req = ctx.req;
  let input: FramingInput;
  if (ctx.h2) {
    const h2 = h2Framing(req as Http2ServerRequest);
    if (typeof h2 === 'string') return badRequest(ctx, h2);
    input = h2;
  } else {
    input = { httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, url: req.url ?? '' };
  }
  const r = check(input);
  if (!r.ok) return badRequest(ctx, r.reason);
  ctx.host = r.host;
  ctx.target = r.target;
  return undefined;
}

/** The HTTP/2 request as HTTP/1.1 framing input: pseudo-headers out, `:authority` as `Host`. */
function h2Framing(req: Http2ServerRequest): FramingInput | string {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let authority: string | undefined;
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === ':authority') {
      if (authority !== undefined) return 'duplicate-host';
      authority = value;
      continue;
    }
    if (name.charCodeAt(0) === 58) continue;
    if (name === 'host') {
      if (host !== undefined) return 'duplicate-host';
      host = value;
    }
    out.push(name, value);
  }
  if (authority !== undefined) {
    if (host !== undefined && host.toLowerCase() !== authority.toLowerCase())
      return 'duplicate-host';
    if (host === undefined) out.push('host', authority);
  }
  return { httpVersion: '2.0', rawHeaders: out, url: req.url };
}
