/**
 * The proxy's own endpoints: health and readiness (on the public host, on hosts no route serves,
 * and on the metrics listener), the JWKS upstreams verify assertions with, and Prometheus metrics.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from './context.js';
import { jsonReply, textReply, type Reply } from './respond/replies.js';
import type { Runtime } from './runtime.js';

export const JWKS_PATH = '/.well-known/ztgate/jwks.json';

export async function readiness(rt: Runtime): Promise<boolean> {
  if (rt.draining) return false;
  const check = rt.options.ready;
  if (check === undefined) return true;
  try {
    return (await check()) === true;
  } catch {
    return false;
  }
}

export async function healthReply(ctx: RequestContext): Promise<Reply> {
  if (ctx.path === '/healthz') return jsonReply(200, { status: 'ok' });
  const ready = await readiness(ctx.rt);
  return jsonReply(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
}

export function jwksReply(rt: Runtime): Reply | undefined {
  const jwks = rt.options.jwks;
  if (jwks === undefined) return undefined;
  return {
    ...textReply(200, 'application/jwk-set+json', JSON.stringify(jwks())),
    headers: {
      'content-type': 'application/jwk-set+json',
      'cache-control': 'public, max-age=60',
      'access-control-allow-origin': '*',
    },
  };
}

/** The plain-HTTP metrics listener: `/metrics`, `/healthz`, `/readyz`. */
export function metricsHandler(rt: Runtime, render: () => string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(render());
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
      return;
    }
    if (path === '/readyz') {
      void readiness(rt).then((ready) => {
        res
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(`{"status":"${ready ? 'ready' : 'not ready'}"}\n`);
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}\n');
  };
}
