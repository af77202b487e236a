/**
 * Forwards one request to its upstream and streams the response back: bodies flow both ways with
 * backpressure and are never buffered whole. Limits:
 * - the request body: a declared `Content-Length` above the limit is refused before the upstream is
 *   contacted; a streamed body is counted and cut at the limit (413 if no response has started);
 * - the upstream timeout: an upstream silent for that long (connecting, before its response, or
 *   between body chunks) is abandoned: 504 before a response, a reset connection after.
 * Upstream failures before a response are 502 (refused, reset, unresolvable). A request without a
 * body whose pooled connection turns out to be closed by the upstream (a keep-alive race) is sent
 * once more on a fresh connection.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../context.js';
import { bodyTooLarge, PepError, upstreamTimeout, upstreamUnreachable } from '../errors.js';
import { serverError, type Reply } from '../respond/replies.js';
import { endToEndResponseHeaders } from './headers.js';
import type { Upstream } from './pool.js';

/** True when the client request carries a body to stream (or may: HTTP/2 without END_STREAM). */
function hasBody(ctx: RequestContext): boolean {
  const h = ctx.req.headers;
  const cl = h['content-length'];
  if (cl !== undefined) return cl !== '0';
  if (ctx.h2) return !(ctx.req as Http2ServerRequest).stream.endAfterHeaders;
  return h['transfer-encoding'] !== undefined;
}

export function proxyHttp(
  ctx: RequestContext,
  up: Upstream,
  path: string,
  headers: OutgoingHttpHeaders,
): Promise<Reply | undefined> {
  const { req, res } = ctx;
  const rt = ctx.rt;
  const limit = rt.limits.maxBodyBytes;
  const timeoutMs = rt.limits.upstreamTimeoutMs;
  const label = ctx.route?.from ?? '';
  const body = hasBody(ctx);
  const sentAt = performance.now();

  return new Promise<Reply | undefined>((resolve) => {
    let settled = false;
    let bytes = 0;
    let upReq: ClientRequest | undefined;
    let responded = false;
    const finish = (reply: Reply | undefined) => {
      if (settled) return;
      settled = true;
      resolve(reply);
    };

    const fail = (err: unknown) => {
      const pe = err instanceof PepError ? err : upstreamUnreachable(err);
      if (pe.status === 504) rt.metrics.upstreamError(label, 'timeout');
      else if (pe.status === 502) {
        const code = (err as { code?: string }).code;
        rt.metrics.upstreamError(label, code === 'ECONNRESET' ? 'reset' : 'unreachable');
      }
      if (pe.status !== 413) {
        rt.log('warn', pe.code, pe.message, { request_id: ctx.id, route: label });
      }
      if (responded || !res || res.headersSent) {
        res?.destroy();
        finish(undefined);
        return;
      }
      finish(serverError(ctx, pe.status, pe.code));
    };

    const attempt = (retry: boolean) => {
      const r = up.request({
        agent: retry ? up.tunnelAgent : up.agent,
        protocol: up.secure ? 'https:' : 'http:',
        hostname: up.hostname,
        port: up.port,
        method: ctx.method,
        path,
        headers,
      });
      upReq = r;
      r.setTimeout(timeoutMs, () => r.destroy(upstreamTimeout()));
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (
          !retry &&
          !body &&
          !responded &&
          r.reusedSocket &&
          (err.code === 'ECONNRESET' || err.code === 'EPIPE')
        ) {
          attempt(true);
          return;
        }
        fail(err);
      });
      r.on('response', (upRes: IncomingMessage) => onResponse(upRes));
      if (!body) r.end();
    };

    const onResponse = (upRes: IncomingMessage) => {
      responded = true;
      ctx.upstreamMs = performance.now() - sentAt;
      if (!res || res.destroyed) {
        upRes.destroy();
        finish(undefined);
        return;
      }
      const out = endToEndResponseHeaders(upRes.headers);
      // the id the upstream was given, and the access log and audit record carry
      out['x-request-id'] = ctx.id;
      if (!ctx.h2 && rt.draining) out.connection = 'close';
      ctx.status = upRes.statusCode ?? 502;
      ctx.forwarded = true;
      try {
        res.writeHead(ctx.status, out);
      } catch (e) {
        // a header Node refuses to send (invalid characters from the upstream)
        upRes.destroy();
        fail(upstreamUnreachable(e));
        return;
      }
      upRes.on('error', () => res.destroy());
      upRes.on('aborted', () => res.destroy());
      upRes.pipe(res as NodeJS.WritableStream);
      upRes.on('end', () => finish(undefined));
    };

    attempt(false);

    if (body) {
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > limit) {
          req.unpipe(upReq);
          upReq?.destroy(bodyTooLarge(limit));
          req.pause();
        }
      });
      req.pipe(upReq as ClientRequest);
    }
    // The client went away: abandon the upstream request and its response.
    res?.on('close', () => {
      if (!res.writableFinished) upReq?.destroy();
      finish(undefined);
    });
    req.on('error', () => upReq?.destroy());
  });
}
