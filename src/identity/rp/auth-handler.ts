/**
 * The relying party's HTTP endpoints under `{public_url}`:
 *
 * | path                         | what                                                           |
 * |------------------------------|----------------------------------------------------------------|
 * | `GET /oauth2/sign_in`        | `?return_to=URL`: starts a sign-in at the IdP                  |
 * | `GET /oauth2/callback`       | the redirect URI: completes it, sets the session cookie        |
 * | `GET|POST /oauth2/sign_out`  | ends the session, then RP-initiated logout at the IdP          |
 * | `GET /oauth2/signed-out`     | where the IdP sends the browser after logout                   |
 * | `POST /oauth2/backchannel-logout` | the IdP's back-channel logout: ends the matching sessions |
 *
 * Every return URL goes through return-url.ts. A sign-in always creates a new session id and ends
 * the one the browser presented (session fixation). A step-up sign-in must come back for the same
 * user; it moves the session to a new id and records the fresh MFA.
 *
 * The session cookie is set on the public host; a return URL on a route host (an app) goes through
 * a one-time handoff ticket (session/handoff.ts) so that host gets the cookie too. `sign_in` for a
 * route host with a valid session on the public host skips the IdP and hands the session over at
 * once (single sign-on across apps).
 *
 * A ticket is bound to the browser that started the sign-in: `sign_in?return_to=...&handoff=C`
 * carries the commitment `C` to a nonce cookie the proxy set on the route host, through the IdP
 * (in the login state) into the ticket. A sign-in for a route host without a commitment (a link
 * made by hand) gets no ticket; it ends at the route host's `/.ztgate/sign_in`, which sets the
 * nonce and comes back here with one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ZtError, type ErrorCode } from '../../shared/errors.js';
import { hashSessionId, type UserStore } from '../../store/store.js';
import { mfaMethodsFromAmr } from '../amr.js';
import { emitAudit, type IdentityAuditSink } from '../audit.js';
import { BodyError, pageCsp, readForm, redirect, sendHtml, sendJson, socketIp } from '../http.js';
import { messagePage } from '../idp/pages.js';
import { validateReturnUrl, type ReturnUrlPolicy } from '../return-url.js';
import { clearSessionCookie, sessionIdFromCookies } from '../session/cookie.js';
import {
  isHandoffCommitment,
  normalizeRouteHost,
  type SessionHandoff,
} from '../session/handoff.js';
import type { ActiveSession, CreatedSession, SessionManager } from '../session/session-manager.js';
import { provisionUser, userIdFor, type IdpKind } from './provision.js';
import type { RelyingParty } from './relying-party.js';

export interface AuthPaths {
  readonly signIn: string;
  readonly callback: string;
  readonly signOut: string;
  readonly signedOut: string;
  readonly backchannelLogout: string;
}

export const DEFAULT_AUTH_PATHS: AuthPaths = {
  signIn: '/oauth2/sign_in',
  callback: '/oauth2/callback',
  signOut: '/oauth2/sign_out',
  signedOut: '/oauth2/signed-out',
  backchannelLogout: '/oauth2/backchannel-logout',
};

/** What a policy's step-up asks for (the PDP's `StepUpRequirement`). */
export interface StepUpRequirement {
  /** seconds */
  readonly max_age?: number;
  readonly methods?: readonly string[];
}

export interface AuthRedirect {
  readonly location: string;
  readonly setCookies: readonly string[];
}

/** The route host's binding of a sign-in (session/handoff.ts). */
export interface HandoffBinding {
  /**
   * `handoffCommitment(nonce)` of the nonce cookie the proxy set on the route host; a malformed
   * value counts as none
   */
  readonly handoff?: string | null | undefined;
}

export interface AuthHandlerOptions {
  readonly rp: RelyingParty;
  readonly kind: IdpKind;
  readonly sessions: SessionManager;
  readonly users: UserStore;
  /** `https://auth.example.com` */
  readonly publicUrl: string;
  /** where return URLs may point; its `publicUrl` should be the same */
  readonly returnUrls: ReturnUrlPolicy;
  readonly paths?: Partial<AuthPaths>;
  readonly audit?: IdentityAuditSink;
  readonly now?: () => number;
  readonly clientIp?: (req: IncomingMessage) => string;
  /** the SHA-256 fingerprint of the client certificate the request came with (device binding) */
  readonly certFingerprint?: (req: IncomingMessage) => string | undefined;
  /** the enrolled device the request came from, recorded on the session */
  readonly deviceId?: (req: IncomingMessage) => string | undefined;
  /**
   * Hands sessions over to route hosts (return URLs on another host than the public one); without
   * it the cookie is set on the public host only.
   */
  readonly handoff?: SessionHandoff;
}

export interface AuthHandler {
  readonly paths: AuthPaths;
  /** Serves the endpoints above; resolves false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /**
   * `{public_url}/oauth2/sign_in?return_to=...`: where to send a browser that is not signed in (the
   * sign-in must start on ztgate's own host, where its cookies live). With `binding.handoff`, the
   * `handoff` parameter that binds the ticket for a route host to the browser.
   */
  signInUrl(returnTo: string, binding?: HandoffBinding): string;
  /** The IdP redirect for a browser on ztgate's own host (what `sign_in` does). */
  loginRedirect(
    req: IncomingMessage,
    returnTo: string,
    binding?: HandoffBinding,
  ): Promise<AuthRedirect>;
  /** The IdP redirect for a step-up of `session` to `requirement`, then back to `returnTo`. */
  stepUpRedirect(
    req: IncomingMessage,
    session: ActiveSession,
    requirement: StepUpRequirement,
    returnTo: string,
    binding?: HandoffBinding,
  ): Promise<AuthRedirect>;
}

/** The commitment of a binding, when it is well formed. */
function commitmentOf(binding: HandoffBinding | undefined): string | undefined {
  const c = binding?.handoff;
  return isHandoffCommitment(c) ? c : undefined;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  ZT_IDENTITY_LOGIN_STATE_INVALID: 400,
  ZT_IDENTITY_RETURN_URL_REFUSED: 400,
  ZT_IDENTITY_IDP_ERROR: 401,
  ZT_IDENTITY_STEP_UP_FAILED: 403,
  ZT_IDENTITY_USER_DISABLED: 403,
  ZT_IDENTITY_USER_UNKNOWN: 403,
  ZT_IDENTITY_ACCOUNT_CONFLICT: 403,
  ZT_IDENTITY_IDP_RESPONSE_INVALID: 502,
  ZT_IDENTITY_IDP_UNAVAILABLE: 503,
  ZT_STORE_UNAVAILABLE: 503,
};

export function createAuthHandler(o: AuthHandlerOptions): AuthHandler {
  const paths: AuthPaths = { ...DEFAULT_AUTH_PATHS, ...o.paths };
  const origin = new URL(o.publicUrl).origin;
  const now = o.now ?? Date.now;
  const audit = o.audit ?? (() => undefined);
  const clientIp = o.clientIp ?? socketIp;
  const csp = pageCsp();
  const page = { mount: '/oidc' };
  const publicHost = normalizeRouteHost(new URL(o.publicUrl).host);
  // The ticket is a credential: its URL must not reach another site as a Referer.
  const handoffHeaders = { 'Referrer-Policy': 'no-referrer' };

  const returnTo = (raw: string | null | undefined): string => {
    const r = validateReturnUrl(raw ?? '/', o.returnUrls);
    if (!r.ok) {
      throw new ZtError(
        'ZT_IDENTITY_RETURN_URL_REFUSED',
        `the return URL was refused: ${r.reason}`,
      );
    }
    return r.url;
  };

  const showError = (res: ServerResponse, err: unknown): void => {
    if (!(err instanceof ZtError)) throw err;
    const status = STATUS[err.code] ?? 400;
    const title = status === 503 ? 'Sign-in unavailable' : 'Sign-in failed';
    sendHtml(
      res,
      status,
      messagePage(page, {
        title,
        message:
          `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}. ${err.help ?? ''}`.trim(),
        requestId: err.code,
      }),
      csp,
    );
  };

  const loginRedirect = async (
    req: IncomingMessage,
    target: string,
    binding?: HandoffBinding,
  ): Promise<AuthRedirect> => {
    const { url, setCookie } = await o.rp.beginLogin({
      returnTo: returnTo(target),
      cookieHeader: req.headers.cookie,
      handoff: commitmentOf(binding),
    });
    return { location: url, setCookies: setCookie ? [setCookie] : [] };
  };

  const stepUpRedirect = async (
    req: IncomingMessage,
    session: ActiveSession,
    requirement: StepUpRequirement,
    target: string,
    binding?: HandoffBinding,
  ): Promise<AuthRedirect> => {
    const { url, setCookie } = await o.rp.beginLogin({
      returnTo: returnTo(target),
      cookieHeader: req.headers.cookie,
      handoff: commitmentOf(binding),
      stepUp: {
        userId: session.user.id,
        loginHint: session.user.email,
        ...(requirement.max_age !== undefined ? { maxAge: requirement.max_age } : {}),
        ...(requirement.methods !== undefined ? { methods: requirement.methods } : {}),
      },
    });
    return { location: url, setCookies: setCookie ? [setCookie] : [] };
  };

  /** True when handoff is on and `target` (a validated return URL) is not on the public host. */
  const needsHandoff = (target: string): boolean => {
    if (!o.handoff) return false;
    const url = new URL(target);
    return url.protocol === 'https:' && normalizeRouteHost(url.host) !== publicHost;
  };

  /**
   * The handoff URL for a return URL on a route host; undefined for the public host, where the
   * cookie just set is enough. Without a commitment there is no browser to bind a ticket to: the
   * route host's `/.ztgate/sign_in` sets a nonce in this browser and comes back to `sign_in`,
   * which then hands the session over at once (single sign-on).
   */
  const handoffUrl = (
    req: IncomingMessage,
    target: string,
    rawSessionId: string,
    expiresAt: number,
    userId: string,
    commitment: string | undefined,
  ): string | undefined => {
    if (!o.handoff || !needsHandoff(target)) return undefined;
    if (commitment === undefined) return o.handoff.startUrl(target);
    return o.handoff.issue({
      rawSessionId,
      returnUrl: target,
      maxAgeSeconds: (expiresAt - now()) / 1000,
      commitment,
      userId,
      sourceIp: clientIp(req),
    });
  };

  /** Back to the return URL with the new session's cookie, through a handoff for a route host. */
  const finishSignIn = (
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    session: CreatedSession,
    commitment: string | undefined,
  ): void => {
    const via = handoffUrl(
      req,
      target,
      session.rawId,
      session.record.expiresAt,
      session.record.userId,
      commitment,
    );
    if (via) redirect(res, via, [session.cookie], 302, handoffHeaders);
    else redirect(res, target, [session.cookie]);
  };

  /**
   * Single sign-on across apps: `sign_in` for a route host from a browser whose session on the
   * public host is still valid (same device certificate) goes straight to that host, no IdP.
   */
  const reuseSession = async (
    req: IncomingMessage,
    target: string,
    commitment: string | undefined,
  ): Promise<string | undefined> => {
    const raw = sessionIdFromCookies(req.headers.cookie);
    if (raw === undefined || !needsHandoff(target)) return undefined;
    const lookup = await o.sessions.lookup(raw, { certFingerprint: o.certFingerprint?.(req) });
    if (!lookup.ok) return undefined;
    return handoffUrl(
      req,
      target,
      raw,
      lookup.session.record.expiresAt,
      lookup.session.user.id,
      commitment,
    );
  };

  const callback = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', origin);
    const result = await o.rp.completeLogin(url, req.headers.cookie);
    const { identity } = result;
    const at = now();
    const user = await provisionUser(o.users, o.kind, identity, at);
    const methods = mfaMethodsFromAmr(identity.amr);
    const mfaAt = methods.length > 0 ? (identity.authTime ?? at) : null;
    const current = sessionIdFromCookies(req.headers.cookie);
    const fingerprint = o.certFingerprint?.(req);
    const deviceId = o.deviceId?.(req);
    const idp = {
      issuer: identity.issuer,
      subject: identity.subject,
      ...(identity.sid ? { sid: identity.sid } : {}),
      ...(result.refreshToken ? { refreshToken: result.refreshToken } : {}),
      idToken: result.idToken,
    };
    if (result.stepUp) {
      if (user.id !== result.stepUp.userId) {
        emitAudit(audit, {
          kind: 'mfa',
          time: at,
          action: 'mfa.step_up.failed',
          outcome: 'failure',
          actor: { user: result.stepUp.userId },
          source_ip: clientIp(req),
          details: { reason: 'another user signed in', signed_in: user.id },
        });
        throw new ZtError(
          'ZT_IDENTITY_STEP_UP_FAILED',
          'the step-up sign-in came back for a different user',
          {
            help: 'sign in again as the same user',
          },
        );
      }
      const lookup = current
        ? await o.sessions.lookup(current, { certFingerprint: fingerprint })
        : undefined;
      if (lookup?.ok && lookup.session.user.id === user.id) {
        const rotated = await o.sessions.rotate(lookup.session, { idp, claims: identity.claims });
        await o.sessions.recordMfa(
          rotated.idHash,
          methods,
          mfaAt ?? at,
          identity.amr,
          identity.acr,
        );
        emitAudit(audit, {
          kind: 'mfa',
          time: at,
          action: 'mfa.step_up.succeeded',
          outcome: 'success',
          actor: { user: user.id, email: user.email },
          source_ip: clientIp(req),
          details: { amr: identity.amr, methods },
        });
        // the route host's cookie still holds the old, now revoked, id: hand the new one over
        finishSignIn(req, res, result.returnTo, rotated, result.handoff ?? undefined);
        return;
      }
      // the session ended meanwhile: this is a complete sign-in of its own
    }
    const created = await o.sessions.create({
      userId: user.id,
      ...(current ? { replaces: current } : {}),
      mfaMethods: methods,
      mfaAt,
      idp,
      claims: identity.claims,
      amr: identity.amr,
      acr: identity.acr,
      ...(fingerprint ? { certFingerprint: fingerprint } : {}),
      ...(deviceId ? { deviceId } : {}),
      sourceIp: clientIp(req),
    });
    finishSignIn(req, res, result.returnTo, created, result.handoff ?? undefined);
  };

  const signOut = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = sessionIdFromCookies(req.headers.cookie);
    let idTokenHint: string | undefined;
    let userId: string | undefined;
    if (raw) {
      const idHash = hashSessionId(raw);
      idTokenHint = (await o.sessions.idpOf(idHash))?.idToken;
      userId = (await o.sessions.record(idHash))?.userId;
      await o.sessions.revoke(idHash, 'logout');
    }
    emitAudit(audit, {
      kind: 'logout',
      time: now(),
      action: 'logout',
      outcome: 'success',
      ...(userId ? { actor: { user: userId } } : {}),
      source_ip: clientIp(req),
    });
    const end = o.rp.endSessionUrl({ idTokenHint });
    const r = validateReturnUrl(
      new URL(req.url ?? '/', origin).searchParams.get('return_to'),
      o.returnUrls,
    );
    redirect(res, end ?? (r.ok ? r.url : `${origin}${paths.signedOut}`), [clearSessionCookie()]);
  };

  const backchannel = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let token: string;
    try {
      token = (await readForm(req)).get('logout_token') ?? '';
    } catch {
      sendJson(res, 400, { error: 'invalid_request' });
      return;
    }
    let claims: { subject: string | null; sid: string | null };
    try {
      claims = await o.rp.verifyLogoutToken(token);
    } catch (err) {
      emitAudit(audit, {
        kind: 'logout',
        time: now(),
        action: 'logout.backchannel_refused',
        outcome: 'failure',
        source_ip: clientIp(req),
        details: { code: err instanceof ZtError ? err.code : 'error' },
      });
      sendJson(res, 400, { error: 'invalid_request' });
      return;
    }
    let ended = 0;
    if (claims.sid) {
      for (const idHash of await o.sessions.sessionsForIdpSid(o.rp.issuer, claims.sid)) {
        if (await o.sessions.revoke(idHash, 'backchannel-logout')) ended++;
      }
    } else if (claims.subject) {
      ended = await o.sessions.revokeUser(
        userIdFor(o.kind, o.rp.issuer, claims.subject),
        'backchannel-logout',
      );
    }
    emitAudit(audit, {
      kind: 'logout',
      time: now(),
      action: 'logout.backchannel',
      outcome: 'success',
      details: { sessions_ended: ended },
    });
    res.setHeader('Cache-Control', 'no-store');
    res.statusCode = 200;
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    try {
      switch (path) {
        case paths.signIn: {
          if (method !== 'GET') break;
          const query = new URL(req.url ?? '/', origin).searchParams;
          const target = returnTo(query.get('return_to') ?? '/');
          const binding = { handoff: query.get('handoff') };
          const sso = await reuseSession(req, target, commitmentOf(binding));
          if (sso !== undefined) {
            redirect(res, sso, [], 302, handoffHeaders);
            return true;
          }
          const r = await loginRedirect(req, target, binding);
          redirect(res, r.location, r.setCookies);
          return true;
        }
        case paths.callback:
          if (method !== 'GET') break;
          await callback(req, res);
          return true;
        case paths.signOut:
          if (method !== 'GET' && method !== 'POST') break;
          await signOut(req, res);
          return true;
        case paths.signedOut:
          sendHtml(
            res,
            200,
            messagePage(page, {
              title: 'Signed out',
              message: 'You are signed out. You can close this window.',
            }),
            csp,
          );
          return true;
        case paths.backchannelLogout:
          if (method !== 'POST') break;
          await backchannel(req, res);
          return true;
        default:
          return false;
      }
    } catch (err) {
      if (err instanceof BodyError) {
        sendJson(res, err.status, { error: 'invalid_request' });
        return true;
      }
      showError(res, err);
      return true;
    }
    res.statusCode = 405;
    res.setHeader(
      'Allow',
      path === paths.backchannelLogout ? 'POST' : path === paths.signOut ? 'GET, POST' : 'GET',
    );
    res.end();
    return true;
  };

  return {
    paths,
    handle,
    signInUrl: (target, binding) => {
      const c = commitmentOf(binding);
      // a commitment is base64url: nothing in it needs percent-encoding
      return `${origin}${paths.signIn}?return_to=${encodeURIComponent(target)}${c !== undefined ? `&handoff=${c}` : ''}`;
    },
    loginRedirect,
    stepUpRedirect,
  };
}
