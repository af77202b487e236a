/**
 * The ports of the policy enforcement point: the small interfaces through which the proxy asks
 * other components for facts and reports what it decided. Identity, device inventory and audit
 * implement them; the composition root (`ztgate serve`) wires them in. The proxy never imports
 * those components directly, so it can be tested with the doubles in ./testing/.
 *
 * Failure contract (PRODUCT.md section 5, fail closed): a port that cannot answer throws. The
 * proxy then refuses the request with 503 and the request id, and never grants access. Throw a
 * `PortUnavailableError` (or a `ZtError` such as `ZT_STORE_UNAVAILABLE`) to say "temporarily
 * unavailable"; any other exception is also a refusal, logged as `ZT_PEP_INTERNAL`.
 */
import type { DeviceFacts, Instant } from '../pdp/input.js';
import type { StepUpRequirement, ReasonCode, Verdict } from '../pdp/decision.js';
import { ZtError } from '../shared/errors.js';

export type MaybePromise<T> = T | Promise<T>;

/** What the proxy knows about a request when it asks who sent it. */
export interface IdentityRequest {
  /** the request host, lower case, as routed (`app.example.com`, `app.example.com:8443`) */
  readonly host: string;
  /** the raw `Cookie` header, if any */
  readonly cookie: string | undefined;
  /** the raw `Authorization` header, if any */
  readonly authorization: string | undefined;
  /**
   * SHA-256 of the TLS client certificate, lower-case hex without colons; only when the
   * certificate verified against the client CA (`socket.authorized`), else undefined
   */
  readonly clientCertFingerprint: string | undefined;
  /** the client address (behind trusted proxies: the first address they did not add) */
  readonly sourceIp: string;
}

/** A signed-in user, as the decision input needs it. */
export interface ResolvedUser {
  readonly id: string;
  readonly email: string | undefined;
  readonly groups: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The session (or bearer token) the user is signed in with. */
export interface ResolvedSession {
  /** the session id (a token id for bearer tokens): revocations name it */
  readonly id: string;
  readonly mfa: {
    readonly methods: readonly string[];
    /** when MFA last succeeded: epoch ms (preferred) or ISO 8601; undefined when never */
    readonly at: Instant | undefined;
  };
}

export interface ResolvedIdentity {
  readonly user: ResolvedUser;
  readonly session: ResolvedSession;
  /** the device the session was created on, if known */
  readonly deviceId?: string | undefined;
  /**
   * lower-case hex SHA-256 of the certificate the session is bound to: the same cookie presented
   * without that certificate is treated as no session
   */
  readonly boundCertFingerprint?: string | undefined;
}

/** `GET /.ztgate/callback?ticket=...` on a route host: a sign-in handed over from the public host. */
export interface HandoffRequest {
  /** the request host, as routed (`app.example.com`, `app.example.com:8443`) */
  readonly host: string;
  /** the raw query string, without `?` (it carries the ticket: never log it) */
  readonly query: string;
  readonly sourceIp: string;
  /** as in IdentityRequest: only a certificate that verified against the client CA */
  readonly clientCertFingerprint: string | undefined;
  /**
   * the route host's sign-in nonce cookie (`__Host-ztgate_handoff`), when the browser sent a
   * well-formed one: the ticket is redeemed only by the browser whose nonce it was issued for
   */
  readonly nonce?: string;
}

/** `/.ztgate/sign_out` on a route host. */
export interface SignOutRequest {
  readonly host: string;
  /** the raw `Cookie` header of the route host, if any */
  readonly cookie: string | undefined;
  readonly sourceIp: string;
  readonly clientCertFingerprint: string | undefined;
}

/** Where to send the browser, and the cookies to set on the route host on the way. */
export interface PortRedirect {
  /** an absolute URL */
  readonly location: string;
  /** `Set-Cookie` values */
  readonly setCookies: readonly string[];
}

/**
 * How the proxy sends a browser to sign in from a route host. `nonce` is the random value the
 * proxy just put in that host's `__Host-ztgate_handoff` cookie (43 base64url characters): the port
 * puts a commitment to it (never the value) in the URL, identity carries it through the sign-in,
 * and the handoff ticket it issues is redeemed only with that cookie (login CSRF). Without a nonce
 * (API clients, forward auth, where the proxy cannot set a cookie in the browser that will open the
 * URL) the port builds an unbound URL; identity then starts the handoff at the route host's
 * `/.ztgate/sign_in`, where the proxy sets the cookie.
 */
export interface SignInOptions {
  readonly nonce?: string;
}

/**
 * Identity: sessions (cookies), bearer tokens and sign-in URLs. `resolve` returns undefined when
 * the request carries no valid credential (missing, expired, revoked): the PDP then answers
 * `login` for policies that need a user. It throws when identity cannot be consulted (503).
 */
export interface IdentityPort {
  resolve(request: IdentityRequest): MaybePromise<ResolvedIdentity | undefined>;
  /** where a browser signs in; `returnUrl` is the original `https://` URL of the request */
  loginUrl(returnUrl: string, options?: SignInOptions): string;
  /** where a browser goes to satisfy the PDP's `step_up` requirement, then back to `returnUrl` */
  stepUpUrl(returnUrl: string, requirement: StepUpRequirement, options?: SignInOptions): string;
  /**
   * Redeems a sign-in handoff ticket on a route host (`/.ztgate/callback`): the session cookie for
   * that host and where to go next. Throws a `ZtError` to refuse it (used, expired, forged, another
   * host, session ended: 400), or an unavailable error (`PortUnavailableError`,
   * `ZT_STORE_UNAVAILABLE`, ...: 503). Without it, `/.ztgate/callback` is a 404.
   */
  handoff?(request: HandoffRequest): MaybePromise<PortRedirect>;
  /**
   * Signs a route host out (`/.ztgate/sign_out`): ends the session of its cookie, clears the
   * cookie, and continues at the public host's sign-out. Without it, `/.ztgate/sign_out` is a 404.
   */
  signOut?(request: SignOutRequest): MaybePromise<PortRedirect>;
}

export interface DeviceLookup {
  /** from the session (`ResolvedIdentity.deviceId`), if any */
  readonly deviceId: string | undefined;
  /** the verified client certificate, lower-case hex SHA-256, if any */
  readonly certFingerprint: string | undefined;
}

/**
 * Device inventory: the facts of the device a request comes from (managed, tier, posture), or
 * undefined when the device is unknown. Throws when the inventory cannot be consulted (503).
 *
 * Returning the same (immutable) object for an unchanged device lets the proxy reuse work keyed
 * on it (the decision cache); a new object must be returned when a fact changes.
 */
export interface DeviceFactsPort {
  lookup(query: DeviceLookup): MaybePromise<DeviceFacts | undefined>;
}

/** One access decision, as the audit log records it. */
export interface AccessRecord {
  /** epoch ms of the decision */
  readonly time: number;
  readonly requestId: string;
  readonly actor: {
    readonly user: string | undefined;
    readonly email: string | undefined;
    readonly device: string | undefined;
  };
  readonly sourceIp: string;
  /** the route's `from` */
  readonly route: string;
  readonly method: string;
  /** the canonical path (never the query string, which may carry secrets) */
  readonly path: string;
  readonly decision: Verdict;
  readonly policy: string;
  readonly rule: string | undefined;
  readonly reasons: readonly ReasonCode[];
  readonly mode: 'enforce' | 'audit';
  /** whether the request went on to the upstream (`mode: audit` forwards every decision) */
  readonly forwarded: boolean;
  /** `http`, `websocket`, `auth-request`, `forward-auth`, `ext-authz`, `websocket-recheck` */
  readonly via: string;
  /** time spent deciding (identity, device, policy), in microseconds */
  readonly latencyUs: number;
}

/**
 * The audit log. `record` must be synchronous and cheap (it runs on the request path): queue and
 * return. Throwing (for example `ZT_AUDIT_BACKLOG_FULL`) refuses the request with 503: nothing
 * that policy would not grant happens unrecorded.
 */
export interface AuditPort {
  record(record: AccessRecord): void;
}

/** Wall-clock time in epoch milliseconds; injected so tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Readiness of what the proxy depends on (the store): false or a throw makes `/readyz` 503. */
export type ReadinessCheck = () => MaybePromise<boolean>;

export type Dependency = 'identity' | 'device' | 'store' | 'audit';

/** Thrown by a port that cannot answer now; the request is refused with 503 (fail closed). */
export class PortUnavailableError extends ZtError {
  static readonly code = 'ZT_PEP_DEPENDENCY_UNAVAILABLE' as const;
  readonly dependency: Dependency;

  constructor(dependency: Dependency, message?: string, options?: { cause?: unknown }) {
    super(PortUnavailableError.code, message ?? `${dependency} is unavailable`, {
      help: 'requests are refused with 503 until it recovers',
      ...(options?.cause !== undefined ? { cause: options.cause } : {}),
    });
    this.name = 'PortUnavailableError';
    this.dependency = dependency;
  }
}
