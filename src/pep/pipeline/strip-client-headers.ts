/**
 * Step: remove every client-sent copy of the identity headers ztgate asserts (`X-Ztgate-*`, any
 * case, `_` or `-`), and the forwarding headers (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`) unless
 * the peer is a trusted proxy (../request/strip-headers.ts). Behind a trusted proxy the source
 * address is the client its `X-Forwarded-For` names.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestContext } from '../context.js';
import { stripClientHeaders as strip } from '../request/strip-headers.js';
import type { StepResult } from './step.js';

export function stripClientHeaders(ctx: RequestContext): StepResult {
  const headers = ctx.req.headers as IncomingHttpHeaders;
  strip(headers, ctx.trustedPeer);
  if (ctx.trustedPeer) {
    ctx.sourceIp = ctx.rt.trusted.clientAddress(ctx.conn.peerIp, headers['x-forwarded-for']);
  }
  return undefined;
}
