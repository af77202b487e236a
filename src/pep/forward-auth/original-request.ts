/**
 * Step (forward-auth endpoints): which request is to be authorized. The proxy in front (nginx,
 * Caddy, Traefik, Envoy) describes it in headers, which are believed only from a trusted proxy
 * (for anyone else ../pipeline/strip-client-headers.ts has already removed the `X-Forwarded-*`
 * copies, and `X-Original-*` are ignored here):
 *
 * | endpoint       | host                                  | target                            | method                                  |
 * | -------------- | ------------------------------------- | --------------------------------- | --------------------------------------- |
 * | `auth-request` | `X-Forwarded-Host`                    | `X-Original-URI`, `X-Forwarded-Uri` | `X-Original-Method`, `X-Forwarded-Method` |
 * | `forward-auth` | `X-Forwarded-Host`                    | `X-Forwarded-Uri`                 | `X-Forwarded-Method`                    |
 * | `ext-authz`    | `X-Forwarded-Host`, else `Host`       | the path after the prefix         | the request's own                       |
 *
 * The original host and target go through the same framing and path checks as a proxied request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { normalizeHost } from '../../pdp/index.js';
import type { RequestContext } from '../context.js';
import { checkFraming } from '../request/check-framing.js';
import { normalizeTarget } from '../request/normalize-path.js';
import { badRequest, jsonReply } from '../respond/replies.js';
import { rawOriginForm } from '../pipeline/normalize-path.js';
import type { StepResult } from '../pipeline/step.js';

export type ForwardAuthKind = 'auth-request' | 'forward-auth' | 'ext-authz';

export const EXT_AUTHZ_PREFIX = '/api/authz/ext-authz';

function one(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined;
  return v === undefined || v === '' ? undefined : v;
}

function missing(ctx: RequestContext): StepResult {
  return jsonReply(
    400,
    {
      error: 'bad_request',
      reason: 'forward-auth-original-missing',
      request_id: ctx.id,
    },
    {},
    'ZT_PEP_FORWARD_AUTH_ORIGINAL_MISSING',
    'forward-auth-original-missing',
  );
}

const METHOD = /^[A-Z]{1,16}$/;

export function readOriginalRequest(kind: ForwardAuthKind) {
  return function readOriginal(ctx: RequestContext): StepResult {
    const h = ctx.req.headers;
    const trusted = ctx.trustedPeer;
    let host: string | undefined;
    let target: string | undefined;
    let method: string | undefined;
    if (kind === 'ext-authz') {
      host = trusted ? one(h, 'x-forwarded-host') : undefined;
      if (host === undefined && !ctx.rt.isPublicHost(ctx.routeHost)) host = ctx.host;
      const rest = ctx.upstreamPath.slice(EXT_AUTHZ_PREFIX.length);
      target = `${rest === '' ? '/' : rest}${ctx.query !== '' ? `?${ctx.query}` : ''}`;
      method = ctx.method;
    } else {
      host = trusted ? one(h, 'x-forwarded-host') : undefined;
      target =
        kind === 'auth-request'
          ? ((trusted ? one(h, 'x-original-uri') : undefined) ??
            (trusted ? one(h, 'x-forwarded-uri') : undefined))
          : trusted
            ? one(h, 'x-forwarded-uri')
            : undefined;
      method =
        (kind === 'auth-request' && trusted ? one(h, 'x-original-method') : undefined) ??
        (trusted ? one(h, 'x-forwarded-method') : undefined) ??
        'GET';
    }
    if (host === undefined || target === undefined) return missing(ctx);
    method = method.toUpperCase();
    if (!METHOD.test(method)) return badRequest(ctx, 'bad-method');
    // The original host and target, checked as if they had arrived here.
    const framing = checkFraming({ httpVersion: '1.1', rawHeaders: ['host', host], url: target });
    if (!framing.ok) return badRequest(ctx, framing.reason);
    const raw = rawOriginForm(target);
    if (raw === undefined) return badRequest(ctx, 'bad-target');
    const path = normalizeTarget(raw);
    if (!path.ok) return badRequest(ctx, path.reason);
    ctx.host = framing.host;
    ctx.routeHost = normalizeHost(framing.host);
    ctx.target = framing.target;
    ctx.method = method;
    ctx.path = path.path;
    ctx.upstreamPath = path.upstreamPath;
    ctx.query = path.query;
    // The TLS client is the proxy in front, not the user: its certificate says nothing of them.
    ctx.certFingerprint = undefined;
    return undefined;
  };
}
