/**
 * Sign-in handoff to route hosts. The session cookie `__Host-ztgate_session` can only be set by the
 * host that sends it, and sign-in completes on `public_url`'s host; the apps live on other hosts
 * (`app.example.com`). So after a sign-in, the browser is sent to
 * `https://<route host>/.ztgate/callback?ticket=T`, where the proxy redeems the ticket and sets the
 * same session cookie on that host (Pomerium's programmatic callback, in the same shape).
 *
 * A ticket is a bearer credential for a whole session, so it is made as hard to misuse as we can:
 * - sealed (AES-256-GCM with the data directory's key, additional data naming its purpose): it can
 *   be neither read (the session id inside stays secret in browser history and logs) nor forged;
 * - bound to one host: a ticket issued for `app.example.com` is refused on any other host;
 * - short-lived (60 s) and single use across replicas (`setIfAbsent` on its random `jti` in the
 *   store), so a ticket seen later in a history file or a proxy log is worth nothing;
 * - the session must still be valid (not revoked, not expired, same device certificate) when the
 *   ticket is redeemed;
 * - bound to the browser that started the sign-in (login CSRF): before it sends a browser to sign
 *   in, the proxy sets a random nonce in a `__Host-` cookie on the route host and passes its
 *   SHA-256 (the "commitment") along; the commitment rides in the relying party's login state and is
 *   sealed into the ticket, and redemption needs the cookie that hashes to it. Without this, someone
 *   could sign in as themselves, stop before redeeming, and have another person's browser open their
 *   callback URL: that browser would be signed in to the app as them. A return URL that arrives
 *   without a commitment (a sign-in link made by hand) gets no ticket: the browser goes through
 *   `/.ztgate/sign_in` on the route host first, where the proxy sets the cookie (`startUrl`).
 * The proxy never forwards `/.ztgate/*` upstream, so an app never sees a ticket.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ZtError, type ErrorCode } from '../../shared/errors.js';
import { hashSessionId, type SettingsStore } from '../../store/store.js';
import { emitAudit, type IdentityAuditSink } from '../audit.js';
import type { SecretBox } from '../secret-box.js';
import {
  clearSessionCookie,
  isWellFormedSessionId,
  sessionCookie,
  sessionIdFromCookies,
} from './cookie.js';
import {
  sessionFailureCode,
  sessionRef,
  type ActiveSession,
  type SessionManager,
} from './session-manager.js';

/** Where a route host redeems a ticket (served by the proxy on every route host). */
export const HANDOFF_CALLBACK_PATH = '/.ztgate/callback';
/**
 * Where a route host starts a sign-in for a link that carries no commitment: the proxy sets the
 * nonce cookie there and comes back to `sign_in` with its commitment.
 */
export const HANDOFF_START_PATH = '/.ztgate/sign_in';
/** How long a ticket may wait to be redeemed: a redirect takes well under a second. */
export const HANDOFF_TTL_MS = 60_000;

/** The additional data of every ticket: a value sealed for another purpose never opens as one. */
const TICKET_AAD = 'ztgate/identity/handoff-ticket/v1';
/** Used tickets, by `jti`, shared by replicas through the store. */
const USED_PREFIX = 'identity/handoff/';
/**
 * How long a used ticket is remembered after it expires: a replica whose clock runs behind the
 * issuer's still finds it. Clocks further apart than this break more than handoff.
 */
const USED_KEEP_MS = 10 * 60_000;
/** The longest return path+query kept (validateReturnUrl accepts 2048 characters in all). */
const MAX_RETURN_PATH = 2048;
/** A ticket for the longest return path is about 3 KB; anything much larger is not ours. */
const MAX_TICKET_CHARS = 4096;
const MAX_QUERY_CHARS = 8192;
const MAX_HOST_CHARS = 261;
const JTI = /^[A-Za-z0-9_-]{22}$/;
/** A nonce and a commitment are both 32 bytes, base64url: 43 characters. */
const B64URL_256 = /^[A-Za-z0-9_-]{43}$/;

/**
 * The commitment to a route host's sign-in nonce, as it travels in URLs and in the ticket: the
 * SHA-256 of the nonce, base64url. A hash, not the nonce itself, so that neither the public host's
 * logs nor a Referer carrying the sign-in URL reveal the value the cookie holds.
 */
export function handoffCommitment(nonce: string): string {
  return createHash('sha256').update(nonce).digest('base64url');
}

/** True for a well-formed commitment (a `handoff` URL parameter is checked with this). */
export function isHandoffCommitment(value: string | null | undefined): value is string {
  return typeof value === 'string' && B64URL_256.test(value);
}

interface TicketBody {
  /** 2: bound to a browser (`bnd`); version 1 tickets had no binding and are refused */
  readonly v: 2;
  /** the raw session id: what the cookie will hold */
  readonly sid: string;
  /** the route host the ticket is for, normalized (lower case, no default port) */
  readonly host: string;
  /** the return path and query on that host */
  readonly path: string;
  /** epoch ms after which the ticket is refused */
  readonly exp: number;
  readonly jti: string;
  /** the cookie's Max-Age at most, seconds */
  readonly max: number;
  /** the commitment to the nonce cookie of the browser that started the sign-in */
  readonly bnd: string;
}

export interface HandoffIssueInput {
  readonly rawSessionId: string;
  /** an absolute `https://` URL already accepted by validateReturnUrl */
  readonly returnUrl: string;
  /** the session's remaining life, seconds: the route host's cookie lives no longer */
  readonly maxAgeSeconds: number;
  /**
   * the commitment (`handoffCommitment(nonce)`) the sign-in came with, from the route host's
   * nonce cookie: only the browser holding that cookie can redeem the ticket
   */
  readonly commitment: string;
  /** for the audit event */
  readonly userId?: string;
  readonly sourceIp?: string;
}

export interface HandoffRedeemInput {
  /** the request's host, as the route table sees it (`app.example.com`, `app.example.com:8443`) */
  readonly host: string;
  readonly ticket: string;
  /** epoch ms; default the handoff's clock */
  readonly now?: number;
  /** the verified client certificate of the request (sessions bound to a device need it) */
  readonly certFingerprint?: string | undefined;
  readonly sourceIp?: string | undefined;
  /** the route host's sign-in nonce cookie, as the browser sent it; none: refused */
  readonly nonce?: string | undefined;
}

export interface HandoffRedemption {
  /** the raw session id, now the route host's cookie */
  readonly rawSessionId: string;
  readonly session: ActiveSession;
  /** `https://<host><return path+query>`: always on the host that redeemed the ticket */
  readonly location: string;
  /** the `Set-Cookie` value of the session cookie for that host */
  readonly setCookie: string;
}

/** A request on a route host for one of identity's `/.ztgate/*` endpoints (the proxy's port). */
export interface RouteHostRequest {
  readonly host: string;
  /** the raw query string, without `?` */
  readonly query: string;
  readonly sourceIp: string;
  readonly clientCertFingerprint: string | undefined;
  /** the route host's sign-in nonce cookie (the proxy reads it), if the browser sent one */
  readonly nonce?: string | undefined;
}

export interface RouteHostSignOutRequest {
  readonly host: string;
  /** the raw `Cookie` header of the route host */
  readonly cookie: string | undefined;
  readonly sourceIp: string;
  readonly clientCertFingerprint: string | undefined;
}

export interface RouteHostRedirect {
  readonly location: string;
  readonly setCookies: readonly string[];
}

export interface SessionHandoffOptions {
  readonly sessions: SessionManager;
  readonly settings: SettingsStore;
  readonly box: SecretBox;
  /** `https://auth.example.com`: where a route host's sign-out continues */
  readonly publicUrl: string;
  /** default `{publicUrl}/oauth2/sign_out` */
  readonly signOutUrl?: string;
  readonly now?: () => number;
  readonly audit?: IdentityAuditSink;
}

/** A host as routes and audiences name it: lower case, without `:443` or a trailing dot. */
export function normalizeRouteHost(host: string): string {
  let h = host.toLowerCase();
  if (h.endsWith(':443')) h = h.slice(0, -4);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function isTicketBody(v: unknown): v is TicketBody {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    b.v === 2 &&
    typeof b.sid === 'string' &&
    isWellFormedSessionId(b.sid) &&
    typeof b.host === 'string' &&
    b.host.length > 0 &&
    b.host.length <= MAX_HOST_CHARS &&
    typeof b.path === 'string' &&
    b.path.startsWith('/') &&
    b.path.length <= MAX_RETURN_PATH &&
    typeof b.exp === 'number' &&
    Number.isFinite(b.exp) &&
    typeof b.jti === 'string' &&
    JTI.test(b.jti) &&
    typeof b.max === 'number' &&
    Number.isInteger(b.max) &&
    b.max > 0 &&
    typeof b.bnd === 'string' &&
    B64URL_256.test(b.bnd)
  );
}

const HELP = 'open the app again: it sends you through sign-in, usually without a prompt';
const BROWSER_HELP =
  'open the app again in this browser; if you did not start a sign-in, someone may have tried to sign you in as them';

export class SessionHandoff {
  private readonly now: () => number;
  private readonly audit: IdentityAuditSink;
  private readonly signOutUrl: string;

  constructor(private readonly o: SessionHandoffOptions) {
    this.now = o.now ?? Date.now;
    this.audit = o.audit ?? (() => undefined);
    this.signOutUrl = o.signOutUrl ?? `${new URL(o.publicUrl).origin}/oauth2/sign_out`;
  }

  /**
   * A one-time URL on the return URL's host that signs that host in with `rawSessionId`, then
   * goes on to the return URL's path and query. The caller has validated `returnUrl`
   * (validateReturnUrl) and knows the session is valid.
   */
  issue(input: HandoffIssueInput): string {
    if (!isWellFormedSessionId(input.rawSessionId)) {
      throw new TypeError('issue() needs a well-formed raw session id');
    }
    if (!isHandoffCommitment(input.commitment)) {
      // a ticket nobody's cookie matches would be refused anyway; a caller without one uses startUrl
      throw new TypeError('issue() needs the commitment to the browser’s nonce');
    }
    let url: URL;
    try {
      url = new URL(input.returnUrl);
    } catch {
      throw refusedReturnUrl('malformed URL');
    }
    if (url.protocol !== 'https:') throw refusedReturnUrl('a route host is always https');
    const path = `${url.pathname}${url.search}`;
    if (path.length > MAX_RETURN_PATH) throw refusedReturnUrl('too long');
    const host = normalizeRouteHost(url.host);
    const now = this.now();
    const body: TicketBody = {
      v: 2,
      sid: input.rawSessionId,
      host,
      path,
      exp: now + HANDOFF_TTL_MS,
      jti: randomBytes(16).toString('base64url'),
      max: Number.isFinite(input.maxAgeSeconds) ? Math.max(1, Math.floor(input.maxAgeSeconds)) : 1,
      bnd: input.commitment,
    };
    const ticket = this.o.box.seal(JSON.stringify(body), TICKET_AAD);
    emitAudit(this.audit, {
      kind: 'session',
      time: now,
      action: 'session.handoff_issued',
      outcome: 'success',
      ...(input.userId ? { actor: { user: input.userId } } : {}),
      ...(input.sourceIp ? { source_ip: input.sourceIp } : {}),
      resource: `session:${sessionRef(hashSessionId(input.rawSessionId))}`,
      details: { host },
    });
    // The sealed form is base64url and dots: nothing in it needs percent-encoding.
    return `https://${host}${HANDOFF_CALLBACK_PATH}?ticket=${ticket}`;
  }

  /**
   * For a sign-in that reached a route host's return URL without a commitment (a link made by
   * hand, a sign-in state from an older version, forward auth): no ticket, but the route host's
   * `/.ztgate/sign_in`, where the proxy sets a nonce cookie in this browser and comes back to
   * `sign_in` with its commitment. A valid session on the public host then skips the IdP.
   */
  startUrl(returnUrl: string): string {
    let url: URL;
    try {
      url = new URL(returnUrl);
    } catch {
      throw refusedReturnUrl('malformed URL');
    }
    if (url.protocol !== 'https:') throw refusedReturnUrl('a route host is always https');
    const host = normalizeRouteHost(url.host);
    const back = `https://${host}${url.pathname}${url.search}`;
    return `https://${host}${HANDOFF_START_PATH}?return_to=${encodeURIComponent(back)}`;
  }

  /**
   * Redeems a ticket on `host`: checks it, checks the session again, marks the ticket used (once,
   * across replicas), and returns the cookie and where to go. Throws a ZtError otherwise:
   * `ZT_IDENTITY_HANDOFF_INVALID` (malformed, oversized, forged, another host),
   * `ZT_IDENTITY_HANDOFF_EXPIRED`, `ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH` (the nonce cookie is
   * missing or is not the one the sign-in started with), `ZT_IDENTITY_HANDOFF_REPLAYED`, or the
   * session's failure code
   * (`ZT_IDENTITY_SESSION_INVALID`, `ZT_IDENTITY_SESSION_DEVICE_MISMATCH`, ...). Store failures
   * pass through (`ZT_STORE_UNAVAILABLE`: the proxy answers 503).
   */
  async redeem(input: HandoffRedeemInput): Promise<HandoffRedemption> {
    const now = input.now ?? this.now();
    const host = normalizeRouteHost(input.host);
    const refuse = (
      code: ErrorCode,
      reason: string,
      message: string,
      sid?: string,
      help = HELP,
    ): ZtError => {
      emitAudit(this.audit, {
        kind: 'session',
        time: now,
        action: 'session.handoff_refused',
        outcome: 'failure',
        ...(input.sourceIp ? { source_ip: input.sourceIp } : {}),
        ...(sid ? { resource: `session:${sessionRef(hashSessionId(sid))}` } : {}),
        details: { reason, host: host.slice(0, MAX_HOST_CHARS) },
      });
      return new ZtError(code, message, { help });
    };
    const ticket = input.ticket;
    if (ticket.length === 0 || ticket.length > MAX_TICKET_CHARS || host.length > MAX_HOST_CHARS) {
      throw refuse(
        'ZT_IDENTITY_HANDOFF_INVALID',
        'malformed',
        'the sign-in link is malformed or too long',
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(this.o.box.open(ticket, TICKET_AAD));
    } catch {
      throw refuse(
        'ZT_IDENTITY_HANDOFF_INVALID',
        'unreadable',
        'the sign-in link is not one ztgate issued',
      );
    }
    if (!isTicketBody(body)) {
      throw refuse('ZT_IDENTITY_HANDOFF_INVALID', 'unreadable', 'the sign-in link is malformed');
    }
    if (body.host !== host) {
      throw refuse(
        'ZT_IDENTITY_HANDOFF_INVALID',
        'other-host',
        'the sign-in link was issued for another address',
        body.sid,
      );
    }
    if (now >= body.exp) {
      throw refuse(
        'ZT_IDENTITY_HANDOFF_EXPIRED',
        'expired',
        'the sign-in link has expired',
        body.sid,
      );
    }
    // Before the session and the single-use record: a ticket opened in the wrong browser is not
    // spent (its owner may still redeem it).
    const nonce = input.nonce;
    const presented = nonce !== undefined && B64URL_256.test(nonce) ? nonce : undefined;
    const expected = Buffer.from(body.bnd, 'base64url');
    const digest = createHash('sha256')
      .update(presented ?? '')
      .digest();
    if (
      presented === undefined ||
      expected.length !== digest.length ||
      !timingSafeEqual(expected, digest)
    ) {
      // The browser's nonce is cleared once its ticket is redeemed, so a reload of the callback
      // page arrives without one: say "already used" rather than "another browser" for that.
      if ((await this.o.settings.get(`${USED_PREFIX}${body.jti}`)) !== undefined) {
        throw refuse(
          'ZT_IDENTITY_HANDOFF_REPLAYED',
          'replayed',
          'the sign-in link was already used',
          body.sid,
        );
      }
      throw refuse(
        'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH',
        presented === undefined ? 'browser-missing' : 'browser-mismatch',
        'this sign-in link was started in another browser',
        body.sid,
        BROWSER_HELP,
      );
    }
    // The session first: when the IdP cannot be reached for a due revalidation the answer is 503,
    // and the ticket, not yet spent, works again on a reload within its minute.
    const lookup = await this.o.sessions.lookup(body.sid, {
      certFingerprint: input.certFingerprint,
    });
    if (!lookup.ok) {
      throw refuse(
        sessionFailureCode(lookup.reason),
        `session-${lookup.reason}`,
        lookup.reason === 'idp-unavailable'
          ? 'the identity provider cannot be reached to check the session'
          : 'the session behind the sign-in link is no longer valid',
        body.sid,
      );
    }
    // Spent once the session is known good, whatever happens next; `setIfAbsent` is atomic in the
    // store, so two replicas redeeming the same ticket at once cannot both win.
    const first = await this.o.settings.setIfAbsent(
      `${USED_PREFIX}${body.jti}`,
      String(body.exp + USED_KEEP_MS),
      now,
    );
    if (!first) {
      throw refuse(
        'ZT_IDENTITY_HANDOFF_REPLAYED',
        'replayed',
        'the sign-in link was already used',
        body.sid,
      );
    }
    const session = lookup.session;
    const remaining = Math.floor((session.record.expiresAt - now) / 1000);
    const maxAge = Math.max(1, Math.min(body.max, remaining));
    emitAudit(this.audit, {
      kind: 'session',
      time: now,
      action: 'session.handoff_redeemed',
      outcome: 'success',
      actor: {
        user: session.user.id,
        ...(session.record.deviceId ? { device: session.record.deviceId } : {}),
      },
      ...(input.sourceIp ? { source_ip: input.sourceIp } : {}),
      resource: `session:${sessionRef(session.idHash)}`,
      details: { host },
    });
    return {
      rawSessionId: body.sid,
      session,
      // Absolute, with the host that redeemed: a path like `//evil.example` stays a path here.
      location: `https://${host}${body.path}`,
      setCookie: sessionCookie(body.sid, maxAge),
    };
  }

  /** `GET /.ztgate/callback?ticket=T` on a route host: what the proxy's identity port calls. */
  async callback(request: RouteHostRequest): Promise<RouteHostRedirect> {
    const params =
      request.query.length <= MAX_QUERY_CHARS ? new URLSearchParams(request.query) : undefined;
    const tickets = params?.getAll('ticket') ?? [];
    const ticket = tickets.length === 1 ? (tickets[0] ?? '') : '';
    const r = await this.redeem({
      host: request.host,
      // none, or more than one: refused as malformed (and audited) by redeem
      ticket,
      certFingerprint: request.clientCertFingerprint,
      sourceIp: request.sourceIp,
      nonce: request.nonce,
    });
    return { location: r.location, setCookies: [r.setCookie] };
  }

  /**
   * `/.ztgate/sign_out` on a route host: ends the session that host's cookie holds, clears the
   * cookie there, and continues at `{public_url}/oauth2/sign_out` (which clears the public host's
   * cookie and signs out at the IdP).
   */
  async signOut(request: RouteHostSignOutRequest): Promise<RouteHostRedirect> {
    const raw = sessionIdFromCookies(request.cookie);
    if (raw !== undefined) await this.o.sessions.revoke(hashSessionId(raw), 'logout');
    return { location: this.signOutUrl, setCookies: [clearSessionCookie()] };
  }

  /** Housekeeping: forgets used tickets that can no longer be redeemed anyway. */
  async sweep(): Promise<number> {
    const now = this.now();
    let n = 0;
    for (const [key, value] of await this.o.settings.list(USED_PREFIX)) {
      const until = Number(value);
      if (!Number.isFinite(until) || until <= now) {
        if (await this.o.settings.delete(key)) n++;
      }
    }
    return n;
  }
}

function refusedReturnUrl(reason: string): ZtError {
  return new ZtError('ZT_IDENTITY_RETURN_URL_REFUSED', `the return URL was refused: ${reason}`);
}
