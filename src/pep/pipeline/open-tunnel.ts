/**
 * Step (upgrades only): open a WebSocket to the upstream once the request was allowed, relay the
 * upstream's `101 Switching Protocols`, then pipe the two sockets. The tunnel is registered with
 * its session, user, device and route, so that a revocation or a policy change can cut it.
 * An upstream that refuses the upgrade has its answer relayed as is.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext } from '../context.js';
import { codeOf, PepError, upstreamTimeout, upstreamUnreachable } from '../errors.js';
import type { ProxyRoute } from '../options.js';
import { serverError } from '../respond/replies.js';
import { cutTunnel, type Tunnel } from '../tunnel/registry.js';
import { identityRequestOf } from './load-identity.js';
import { upstreamHeaders, upstreamTarget } from './forward.js';
import type { StepResult } from './step.js';

function statusHead(res: IncomingMessage): string {
  let head = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

export async function openTunnel(ctx: RequestContext): Promise<StepResult> {
  const up = ctx.routeRt?.upstream;
  const client = ctx.socket as Duplex;
  if (up === undefined) return serverError(ctx, 502, 'ZT_PEP_UPSTREAM_UNREACHABLE');
  let headers;
  try {
    headers = await upstreamHeaders(ctx, up, true);
  } catch (e) {
    ctx.rt.log('error', codeOf(e), 'could not sign the identity assertion', { request_id: ctx.id });
    return serverError(ctx, 500, 'ZT_PEP_INTERNAL');
  }
  if (client.destroyed) return undefined;
  const rt = ctx.rt;
  return new Promise<StepResult>((resolve) => {
    let done = false;
    const settle = (r: StepResult) => {
      if (done) return;
      done = true;
      resolve(r);
    };
    const upReq = up.request({
      agent: up.tunnelAgent,
      protocol: up.secure ? 'https:' : 'http:',
      hostname: up.hostname,
      port: up.port,
      method: 'GET',
      path: upstreamTarget(ctx, up),
      headers,
    });
    upReq.setTimeout(rt.limits.upstreamTimeoutMs, () => upReq.destroy(upstreamTimeout()));
    const onClientGone = () => upReq.destroy();
    client.once('close', onClientGone);
    upReq.on('error', (err) => {
      client.off('close', onClientGone);
      const pe = err instanceof PepError ? err : upstreamUnreachable(err);
      rt.metrics.upstreamError(
        ctx.route?.from ?? '',
        pe.status === 504 ? 'timeout' : 'unreachable',
      );
      rt.log('warn', pe.code, pe.message, { request_id: ctx.id, route: ctx.route?.from });
      settle(serverError(ctx, pe.status, pe.code));
    });
    upReq.on('response', (res: IncomingMessage) => {
      // The upstream refused to switch protocols: relay its answer and close.
      client.off('close', onClientGone);
      ctx.status = res.statusCode ?? 502;
      ctx.forwarded = true;
      client.write(statusHead(res));
      res.pipe(client);
      res.on('error', () => client.destroy());
      settle(undefined);
    });
    upReq.on('upgrade', (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      client.off('close', onClientGone);
      upReq.setTimeout(0);
      ctx.status = 101;
      ctx.forwarded = true;
      if (client.destroyed) {
        upSocket.destroy();
        settle(undefined);
        return;
      }
      const tunnel: Tunnel = {
        id: rt.tunnels.newId(),
        requestId: ctx.id,
        host: ctx.host,
        path: ctx.path,
        method: ctx.method,
        sourceIp: ctx.sourceIp,
        certFingerprint: ctx.certFingerprint,
        certSpiffeId: ctx.conn.spiffeId,
        certSubject: ctx.conn.subject,
        identityRequest: identityRequestOf(ctx),
        route: ctx.route as ProxyRoute,
        identity: ctx.identity,
        device: ctx.device,
        openedAt: rt.clock.now(),
        client,
        upstream: upSocket,
        closed: false,
      };
      const close = () => {
        if (!tunnel.closed) cutTunnel(tunnel);
        rt.tunnels.delete(tunnel);
      };
      client.on('error', close);
      upSocket.on('error', close);
      client.on('close', close);
      upSocket.on('close', close);
      (upSocket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      (client as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      (client as { setTimeout?: (ms: number) => void }).setTimeout?.(0);
      client.write(statusHead(res));
      if (upHead.length > 0) client.write(upHead);
      const head = ctx.head;
      if (head !== undefined && head.length > 0) upSocket.write(head);
      upSocket.pipe(client);
      client.pipe(upSocket);
      rt.tunnels.add(tunnel);
      settle(undefined);
    });
    upReq.end();
  });
}
