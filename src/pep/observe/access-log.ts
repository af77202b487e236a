/**
 * The access log: one JSON line per request, written when its response ends. Holds what an
 * operator needs to follow a request (id, route, decision, status, timings) and never a secret:
 * no cookie, no `Authorization`, no assertion, no query string (which may carry tokens), no session
 * id. Field order is fixed.
 */
import type { RequestContext } from '../context.js';

export function accessLine(ctx: RequestContext, durationMs: number): string {
  const d = ctx.decision;
  const id = ctx.identity;
  return JSON.stringify({
    time: new Date(ctx.time).toISOString(),
    msg: 'access',
    request_id: ctx.id,
    via: ctx.via,
    proto: ctx.h2 ? 'h2' : 'http/1.1',
    method: ctx.method,
    host: ctx.routeHost || undefined,
    path: ctx.path || undefined,
    status: ctx.status,
    route: ctx.route?.from,
    decision: d?.decision,
    policy: d?.policy,
    rule: d?.rule,
    reason: ctx.reason,
    cached: d ? ctx.cached : undefined,
    mode: ctx.route?.mode,
    forwarded: ctx.forwarded,
    user: id?.user.id,
    device: ctx.device?.id ?? id?.deviceId,
    source_ip: ctx.sourceIp,
    peer: ctx.conn.peerIp,
    duration_ms: Math.round(durationMs * 1000) / 1000,
    upstream_ms: ctx.upstreamMs >= 0 ? Math.round(ctx.upstreamMs * 1000) / 1000 : undefined,
    code: ctx.code,
  });
}
