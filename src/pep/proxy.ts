/**
 * The identity-aware HTTPS reverse proxy: `createProxy(options)`.
 *
 * One TLS listener (TLS 1.2 and 1.3; HTTP/2 and HTTP/1.1 by ALPN) serves:
 * - proxied requests: prelude (check framing, normalize the path, strip client headers), then
 *   find route, load identity, load device, build the decision input, decide, record, enforce,
 *   forward;
 * - WebSocket upgrades (HTTP/1.1): the same steps, then a tunnel registered for revocation;
 * - on the public host: `/api/authz/auth-request` (nginx), `/api/authz/forward-auth` (Traefik,
 *   Caddy), `/api/authz/ext-authz/` (Envoy), the JWKS, `/healthz`, `/readyz`, and whatever the
 *   composition root mounts (`publicHandler`: sign-in, portal, admin);
 * - on route hosts: `/.ztgate/*`, reserved for ztgate and never forwarded (the sign-in handoff
 *   `/.ztgate/callback` and `/.ztgate/sign_out`, through the identity port).
 * An optional plain-HTTP listener serves Prometheus `/metrics`.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { normalizeHost, type PolicyEngine } from '../pdp/index.js';
import { isBrowser } from './client-class.js';
import { RequestContext, type Via } from './context.js';
import { codeOf, PepError } from './errors.js';
import { adaptRefusal, answerForwardAuth } from './forward-auth/answer.js';
import {
  EXT_AUTHZ_PREFIX,
  readOriginalRequest,
  type ForwardAuthKind,
} from './forward-auth/original-request.js';
import { healthReply, JWKS_PATH, jwksReply, metricsHandler } from './internal.js';
import { connectionOf, describeConnection, type ConnectionInfo } from './net/connection-info.js';
import { Connections } from './net/connections.js';
import { accessLine } from './observe/access-log.js';
import type {
  AnyRequest,
  AnyResponse,
  ListenAddress,
  ProxyOptions,
  ProxyRoute,
} from './options.js';
import { DEFAULTS } from './options.js';
import { buildDecisionInput } from './pipeline/build-decision-input.js';
import { checkFraming } from './pipeline/check-framing.js';
import { decide } from './pipeline/decide.js';
import { enforce } from './pipeline/enforce.js';
import { findRoute } from './pipeline/find-route.js';
import { forward } from './pipeline/forward.js';
import { loadDevice } from './pipeline/load-device.js';
import { loadIdentity } from './pipeline/load-identity.js';
import { normalizePath } from './pipeline/normalize-path.js';
import { answerReserved, isReservedPath } from './pipeline/answer-reserved.js';
import { openTunnel } from './pipeline/open-tunnel.js';
import { recordDecision } from './pipeline/record-decision.js';
import { runSteps, type Step } from './pipeline/step.js';
import { stripClientHeaders } from './pipeline/strip-client-headers.js';
import { badRequest, notFound, serverError, type Reply } from './respond/replies.js';
import { sendReply, writeRaw } from './respond/send.js';
import { Runtime } from './runtime.js';
import { closeTunnel, decideAgain, refreshAndDecide } from './tunnel/recheck.js';
import { isWebSocketUpgrade } from './upstream/headers.js';

/** Checks every request gets before anything else. */
export const PRELUDE: readonly Step[] = [checkFraming, normalizePath, stripClientHeaders];

const DECIDE: readonly Step[] = [
  findRoute,
  loadIdentity,
  loadDevice,
  buildDecisionInput,
  decide,
  recordDecision,
];

/** A proxied request, after the prelude. */
export const PROXY_STEPS: readonly Step[] = [...DECIDE, enforce, forward];
/** A WebSocket upgrade, after the prelude. */
export const TUNNEL_STEPS: readonly Step[] = [...DECIDE, enforce, openTunnel];

function forwardAuthSteps(kind: ForwardAuthKind): readonly Step[] {
  return [readOriginalRequest(kind), ...DECIDE, answerForwardAuth(kind)];
}
const FORWARD_AUTH: Readonly<Record<ForwardAuthKind, readonly Step[]>> = {
  'auth-request': forwardAuthSteps('auth-request'),
  'forward-auth': forwardAuthSteps('forward-auth'),
  'ext-authz': forwardAuthSteps('ext-authz'),
};

export interface ProxyStats {
  readonly inFlight: number;
  readonly connections: number;
  readonly tunnels: number;
  readonly decisionCache: { size: number; hits: number; misses: number } | undefined;
  readonly draining: boolean;
}

export interface Proxy {
  /** Binds the listener(s); `port` is the bound port (useful with port 0). */
  listen(): Promise<{ port: number; metricsPort: number | undefined }>;
  /**
   * Graceful drain: stop accepting, `/readyz` 503, idle connections closed, running requests
   * given up to `drainMs` (default 10 s), then everything left is cut. Open WebSockets are
   * closed at once (clients reconnect elsewhere).
   */
  close(drainMs?: number): Promise<void>;
  /** A session was revoked: its cached decisions go, its WebSockets are cut. Returns tunnels cut. */
  revokeSession(sessionId: string): number;
  /** A user was disabled or removed. */
  revokeUser(userId: string): number;
  /** A device was revoked. */
  revokeDevice(deviceId: string): number;
  /** A device's facts changed (posture, tier): its WebSockets are decided again with fresh facts. */
  deviceChanged(deviceId: string): Promise<number>;
  /**
   * Policies or routes changed: swap to `engine` if given, empty the decision cache, decide every
   * open WebSocket again (synchronously). Returns tunnels cut.
   */
  policyChanged(engine?: PolicyEngine<ProxyRoute>): number;
  /** Prometheus exposition text. */
  metrics(): string;
  stats(): ProxyStats;
  /** The TLS server (for tests and the composition root). */
  readonly server: http2.Http2SecureServer;
}

export function createProxy(options: ProxyOptions): Proxy {
  const rt = new Runtime(options);
  const conns = new Connections();
  const tls = options.tls;
  let server: http2.Http2SecureServer;
  try {
    server = http2.createSecureServer({
      allowHTTP1: true,
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.2',
      ...(tls.clientCa !== undefined
        ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false }
        : {}),
      settings: { maxConcurrentStreams: 256 },
    });
  } catch (e) {
    // OpenSSL's reason, never the key material
    const reason = (e as { reason?: unknown }).reason;
    throw new PepError(
      'ZT_PEP_TLS_INVALID',
      `the listener certificate or key is not usable${typeof reason === 'string' ? `: ${reason}` : ''}`,
      0,
      { cause: e, help: 'give a PEM certificate chain and the PEM private key that matches it' },
    );
  }
  // The HTTP/1.1 side of the server reads these as an http.Server would.
  Object.assign(server, {
    keepAliveTimeout: rt.limits.clientKeepAliveMs,
    headersTimeout: 60_000,
    requestTimeout: 300_000,
  });

  server.on('secureConnection', (socket: TLSSocket) => {
    conns.addConnection(describeConnection(socket));
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    conns.addSession(session);
    session.on('error', () => undefined);
  });
  server.on('sessionError', () => undefined);
  server.on('tlsClientError', () => undefined);
  server.on('request', (req: AnyRequest, res: AnyResponse) => handleRequest(req, res));
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
    handleUpgrade(req, socket, head),
  );
  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) =>
    handleClientError(err, socket),
  );

  function connection(req: AnyRequest): ConnectionInfo {
    const info = connectionOf(req.socket);
    if (info) return info;
    // Not seen at handshake (should not happen): describe it now.
    return describeConnection(req.socket as TLSSocket);
  }

  function finishRequest(ctx: RequestContext): void {
    if (ctx.logged) return;
    ctx.logged = true;
    const ms = performance.now() - ctx.startedAt;
    rt.metrics.request(
      ctx.route?.from ?? '',
      ctx.decision?.decision ?? 'none',
      ctx.status,
      ms / 1000,
    );
    try {
      rt.accessLog(accessLine(ctx, ms));
    } catch {
      // a failing access log writer must not fail requests
    }
  }

  function internalError(ctx: RequestContext, e: unknown): Reply {
    rt.log('error', codeOf(e), 'unexpected error while handling a request', {
      request_id: ctx.id,
      error: e instanceof Error ? e.message : String(e),
    });
    return serverError(ctx, e instanceof PepError ? e.status : 500, 'ZT_PEP_INTERNAL');
  }

  /** Which endpoint serves the request after the prelude; undefined: the proxy pipeline. */
  function internalSteps(ctx: RequestContext): Step | readonly Step[] | undefined {
    const p = ctx.path;
    if (rt.isPublicHost(ctx.routeHost)) {
      if (p === '/healthz' || p === '/readyz') return healthReply;
      if (p === '/api/authz/auth-request') return FORWARD_AUTH['auth-request'];
      if (p === '/api/authz/forward-auth') return FORWARD_AUTH['forward-auth'];
      if (p === EXT_AUTHZ_PREFIX || p.startsWith(`${EXT_AUTHZ_PREFIX}/`)) {
        return FORWARD_AUTH['ext-authz'];
      }
      if (p === JWKS_PATH && options.jwks) return () => jwksReply(rt);
      return PUBLIC;
    }
    // Checked before anything reaches a route: an upstream must never see these requests.
    if (isReservedPath(p)) return answerReserved;
    // Envoy sends ext_authz checks with the original Host.
    if (ctx.trustedPeer && p.startsWith(`${EXT_AUTHZ_PREFIX}/`)) return FORWARD_AUTH['ext-authz'];
    if ((p === '/healthz' || p === '/readyz') && !rt.engine.routes.match(ctx.host, p)) {
      return healthReply;
    }
    return undefined;
  }

  const PUBLIC: Step = (ctx) => {
    const handler = options.publicHandler;
    if (handler === undefined || !ctx.res) return notFound(ctx);
    ctx.status = -1; // the handler answers; its status is read at the end
    handler(ctx.req, ctx.res);
    return undefined;
  };

  async function serve(ctx: RequestContext): Promise<Reply | undefined> {
    const pre = await runSteps(PRELUDE, ctx);
    if (pre !== undefined) return pre;
    ctx.routeHost = ctx.routeHost || normalizeHost(ctx.host);
    const internal = internalSteps(ctx);
    if (internal === undefined) return runSteps(PROXY_STEPS, ctx);
    if (typeof internal === 'function') return internal(ctx);
    const kind: Via | undefined =
      internal === FORWARD_AUTH['auth-request']
        ? 'auth-request'
        : internal === FORWARD_AUTH['forward-auth']
          ? 'forward-auth'
          : 'ext-authz';
    ctx.via = kind;
    const r = await runSteps(internal, ctx);
    if (r === undefined || ctx.decision !== undefined) return r;
    return adaptRefusal(kind, r);
  }

  function handleRequest(req: AnyRequest, res: AnyResponse): void {
    const conn = connection(req);
    const ctx = new RequestContext(
      rt,
      randomUUID(),
      'http',
      req,
      res,
      undefined,
      undefined,
      conn,
      performance.now(),
      rt.clock.now(),
    );
    conns.begin(conn);
    rt.metrics.inFlight++;
    res.once('close', () => {
      conns.end(conn);
      rt.metrics.inFlight--;
      if (ctx.status === -1) ctx.status = res.statusCode;
      if (ctx.status === 0) ctx.status = res.headersSent ? res.statusCode : 499;
      finishRequest(ctx);
    });
    ctx.browser = isBrowser(req.headers);
    serve(ctx).then(
      (reply) => {
        if (reply !== undefined) sendReply(ctx, reply);
      },
      (e: unknown) => sendReply(ctx, internalError(ctx, e)),
    );
  }

  function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const conn = connection(req);
    const ctx = new RequestContext(
      rt,
      randomUUID(),
      'websocket',
      req,
      undefined,
      socket,
      head,
      conn,
      performance.now(),
      rt.clock.now(),
    );
    socket.on('error', () => socket.destroy());
    conns.begin(conn);
    const done = (reply: Reply | undefined) => {
      if (reply !== undefined) sendReply(ctx, reply);
      conns.end(conn);
      finishRequest(ctx);
    };
    if (!isWebSocketUpgrade(req.headers)) {
      done(badRequest(ctx, 'upgrade-not-supported'));
      return;
    }
    if (rt.draining) {
      done(serverError(ctx, 503, 'ZT_PEP_DEPENDENCY_UNAVAILABLE'));
      return;
    }
    void (async (): Promise<Reply | undefined> => {
      const pre = await runSteps(PRELUDE, ctx);
      if (pre !== undefined) return pre;
      ctx.routeHost = normalizeHost(ctx.host);
      if (rt.isPublicHost(ctx.routeHost) || isReservedPath(ctx.path)) return notFound(ctx);
      return runSteps(TUNNEL_STEPS, ctx);
    })().then(done, (e: unknown) => done(internalError(ctx, e)));
  }

  function handleClientError(
    err: NodeJS.ErrnoException & { reason?: string },
    socket: Duplex,
  ): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const reason = parserReason(err);
    const id = randomUUID();
    const status = reason === 'headers-too-large' ? 431 : reason === 'request-timeout' ? 408 : 400;
    writeRaw(socket, id, {
      status,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: `${JSON.stringify({ error: status === 408 ? 'request_timeout' : 'bad_request', reason, request_id: id })}\n`,
      code: 'ZT_PEP_REQUEST_REJECTED',
      reason,
      close: true,
    });
    const info = connectionOf(socket);
    try {
      rt.accessLog(
        JSON.stringify({
          time: new Date(rt.clock.now()).toISOString(),
          msg: 'access',
          request_id: id,
          via: 'http',
          proto: 'http/1.1',
          status,
          reason,
          peer: info?.peerIp,
          code: 'ZT_PEP_REQUEST_REJECTED',
        }),
      );
    } catch {
      // ignore a failing writer
    }
  }

  // The metrics listener.
  const metricsServer =
    options.metricsListen !== undefined
      ? http.createServer(metricsHandler(rt, () => renderMetrics()))
      : undefined;

  function renderMetrics(): string {
    const s = rt.cache?.stats();
    return rt.metrics.render({
      cacheHits: s?.hits ?? 0,
      cacheMisses: s?.misses ?? 0,
      tunnelsOpen: rt.tunnels.size,
    });
  }

  // Periodic recheck of open tunnels: session expiry, MFA age, time windows, posture.
  const recheck = setInterval(() => {
    for (const t of rt.tunnels.all()) {
      void refreshAndDecide(rt, t, { identity: true, device: true });
    }
  }, rt.limits.tunnelRecheckMs);
  recheck.unref();

  let closing: Promise<void> | undefined;

  function listenOn(s: http.Server | http2.Http2SecureServer, at: ListenAddress): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => {
        reject(
          new PepError(
            'ZT_PEP_LISTEN_FAILED',
            `cannot listen on ${at.host}:${at.port}: ${e.message}`,
            0,
            {
              cause: e,
            },
          ),
        );
      };
      s.once('error', onError);
      s.listen(at.port, at.host, () => {
        s.off('error', onError);
        const addr = s.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : at.port);
      });
    });
  }

  const proxy: Proxy = {
    server,
    async listen() {
      const port = await listenOn(server, options.listen ?? DEFAULTS.listen);
      const metricsPort =
        metricsServer && options.metricsListen
          ? await listenOn(metricsServer, options.metricsListen)
          : undefined;
      return { port, metricsPort };
    },
    close(drainMs = 10_000) {
      closing ??= (async () => {
        rt.draining = true;
        clearInterval(recheck);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const t of rt.tunnels.all()) closeTunnel(rt, t, 'shutdown');
        const cut = await conns.drain(drainMs);
        if (cut > 0) {
          rt.log(
            'warn',
            'ZT_PEP_DRAIN_TIMEOUT',
            `${cut} requests were still running at the drain deadline and were cut`,
          );
        }
        rt.pool.destroy();
        rt.flushAccessLog();
        if (metricsServer?.listening) {
          await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
        }
        if (server.listening || conns.open > 0) await closed;
      })();
      return closing;
    },
    revokeSession(sessionId) {
      rt.cache?.forgetSession(sessionId);
      const hit = rt.tunnels.where((t) => t.identity?.session.id === sessionId);
      for (const t of hit) closeTunnel(rt, t, 'session-revoked');
      return hit.length;
    },
    revokeUser(userId) {
      rt.cache?.forgetUser(userId);
      rt.assertions.forgetUser(userId);
      const hit = rt.tunnels.where((t) => t.identity?.user.id === userId);
      for (const t of hit) closeTunnel(rt, t, 'user-revoked');
      return hit.length;
    },
    revokeDevice(deviceId) {
      rt.cache?.forgetDevice(deviceId);
      const hit = rt.tunnels.where(
        (t) => t.device?.id === deviceId || t.identity?.deviceId === deviceId,
      );
      for (const t of hit) closeTunnel(rt, t, 'device-revoked');
      return hit.length;
    },
    async deviceChanged(deviceId) {
      rt.cache?.forgetDevice(deviceId);
      const hit = rt.tunnels.where(
        (t) => t.device?.id === deviceId || t.identity?.deviceId === deviceId,
      );
      const cut = await Promise.all(
        hit.map((t) => refreshAndDecide(rt, t, { identity: false, device: true })),
      );
      return cut.filter(Boolean).length;
    },
    policyChanged(engine) {
      if (engine !== undefined) rt.setEngine(engine);
      else rt.cache?.clear();
      let cut = 0;
      for (const t of rt.tunnels.all()) if (decideAgain(rt, t, t.identity, t.device)) cut++;
      return cut;
    },
    metrics: renderMetrics,
    stats() {
      return {
        inFlight: conns.inFlight,
        connections: conns.open,
        tunnels: rt.tunnels.size,
        decisionCache: rt.cache?.stats(),
        draining: rt.draining,
      };
    },
  };
  return proxy;
}

/** llhttp's refusal as one of the framing reason codes. */
function parserReason(err: NodeJS.ErrnoException & { reason?: string }): string {
  const why = err.reason ?? err.message ?? '';
  switch (err.code) {
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      if (/content-length/i.test(why) && /transfer-encoding/i.test(why)) {
        return 'content-length-with-transfer-encoding';
      }
      if (/duplicate content-length/i.test(why)) return 'duplicate-content-length';
      return err.code === 'HPE_INVALID_TRANSFER_ENCODING'
        ? 'bad-transfer-encoding'
        : 'bad-content-length';
    case 'HPE_INVALID_CONTENT_LENGTH':
      return 'bad-content-length';
    case 'HPE_HEADER_OVERFLOW':
      return 'headers-too-large';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request-timeout';
    default:
      return 'malformed-request';
  }
}
