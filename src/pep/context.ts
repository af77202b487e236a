/**
 * The state of one request as it goes through the pipeline. One class with every field set in the
 * constructor, so that every context has the same shape (V8 keeps the property reads in the steps
 * monomorphic). Steps fill it in order; the access log and metrics read it at the end.
 */
import type { Duplex } from 'node:stream';
import type { Decision, DecisionInput } from '../pdp/index.js';
import type { DeviceFacts } from '../pdp/input.js';
import type { ErrorCode } from '../shared/errors.js';
import type { ConnectionInfo } from './net/connection-info.js';
import type { AnyRequest, AnyResponse, ProxyRoute } from './options.js';
import type { ResolvedIdentity } from './ports.js';
import type { RouteRuntime, Runtime } from './runtime.js';

/** How a request reached the pipeline. */
export type Via = 'http' | 'websocket' | 'auth-request' | 'forward-auth' | 'ext-authz';

export class RequestContext {
  /** request host, lower case, with its port (`app.example.com:8443`) */
  host = '';
  /** the host without a default port or trailing dot: what routes, audiences and logs use */
  routeHost = '';
  /** origin-form target as received (after framing checks) */
  target = '';
  method: string;
  /** canonical path (decision, logs) */
  path = '';
  /** canonical path, percent-encoded again (upstream request) */
  upstreamPath = '';
  /** query string as sent, without `?` (never logged) */
  query = '';
  route: ProxyRoute | undefined = undefined;
  routeRt: RouteRuntime | undefined = undefined;
  /** sent by a browser (a page load), not an API client: redirects rather than 401 */
  browser = false;
  identity: ResolvedIdentity | undefined = undefined;
  device: DeviceFacts | undefined = undefined;
  input: DecisionInput | undefined = undefined;
  decision: Decision | undefined = undefined;
  /** the decision came from the cache */
  cached = false;
  /** performance.now() when the decision was made */
  decidedAt = 0;
  /** the request went on to the upstream */
  forwarded = false;
  /** the address decisions and logs use */
  sourceIp: string;
  /** the peer is a trusted proxy */
  trustedPeer: boolean;
  /** the client certificate, for this request (forward-auth requests have none) */
  certFingerprint: string | undefined;

  // outcome, for the access log and metrics
  status = 0;
  code: ErrorCode | undefined = undefined;
  reason: string | undefined = undefined;
  upstreamMs = -1;
  logged = false;

  constructor(
    readonly rt: Runtime,
    readonly id: string,
    /** set again by the dispatcher for forward-auth endpoints */
    public via: Via,
    readonly req: AnyRequest,
    /** the response, except for upgrades */
    readonly res: AnyResponse | undefined,
    /** the client socket of an upgrade */
    readonly socket: Duplex | undefined,
    readonly head: Buffer | undefined,
    readonly conn: ConnectionInfo,
    /** performance.now() at arrival */
    readonly startedAt: number,
    /** clock time at arrival (epoch ms): the decision's `request.time` */
    readonly time: number,
  ) {
    this.method = req.method ?? 'GET';
    this.trustedPeer = rt.trusted.contains(conn.peerIp);
    this.sourceIp = conn.peerIp;
    this.certFingerprint = conn.fingerprint;
  }

  get h2(): boolean {
    return this.conn.h2;
  }
}
