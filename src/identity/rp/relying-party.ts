/**
 * ztgate as an OpenID Connect relying party (openid-client 6), for the built-in IdP and any
 * external one (Okta, Microsoft Entra ID, Google, Keycloak).
 *
 * - Authorization code flow with PKCE (S256), `state` and `nonce`; the IdP's metadata by discovery.
 * - Each sign-in is a one-time transaction kept sealed in the store under
 *   `identity/login/<hash(state)>`: consumed by the first callback that presents its `state`
 *   (replays fail), valid 15 minutes, and bound to the browser that started it by a
 *   `__Host-ztgate_login` cookie (a `state` carried to another browser fails: login CSRF).
 * - ID token checks are openid-client's: signature (keys from the IdP's JWKS, fetched again when an
 *   unknown `kid` appears, so key rotation needs nothing), `iss`, `aud`, `azp`, `exp`/`iat` with 30
 *   seconds of tolerance, `nonce`, `auth_time` against `max_age`, and the algorithm the client was
 *   registered with (never `none`, never HMAC with a public key).
 * - Groups come from `groups_claim` (a dotted path, e.g. `realm_access.roles`), in the ID token or
 *   else the userinfo response.
 * - Revalidation (`revalidator`) uses the refresh token; back-channel logout tokens are verified by
 *   `verifyLogoutToken`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import { ZtError } from '../../shared/errors.js';
import type { SettingsStore } from '../../store/store.js';
import { mfaMethodsFromAmr, satisfiesMethods } from '../amr.js';
import { emitAudit, type IdentityAuditSink } from '../audit.js';
import type { SecretBox } from '../secret-box.js';
import { serializeCookie, parseCookies } from '../session/cookie.js';
import type { ActiveSession, RevalidationResult } from '../session/session-manager.js';
import type { FetchLike } from './ca-fetch.js';

export const LOGIN_COOKIE = '__Host-ztgate_login';
const LOGIN_PREFIX = 'identity/login/';
const LOGOUT_JTI_PREFIX = 'identity/logout-jti/';
const LOGIN_TTL_MS = 15 * 60_000;
const CLOCK_TOLERANCE_S = 30;
const ASYMMETRIC_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** claims that describe the token, not the user: not passed to policies */
const TOKEN_CLAIMS = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'azp',
  'jti',
  'sid',
  'auth_time',
  'acr',
  'amr',
  'sub',
]);

export interface RelyingPartyOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `{public_url}/oauth2/callback`, registered at the IdP */
  readonly redirectUri: string;
  /** where the IdP sends the browser after RP-initiated logout (registered at the IdP) */
  readonly postLogoutRedirectUri?: string;
  readonly scopes?: readonly string[];
  /** the claim (dotted path) with the user's groups; default `groups` */
  readonly groupsClaim?: string;
  readonly settings: SettingsStore;
  readonly box: SecretBox;
  readonly now?: () => number;
  readonly audit?: IdentityAuditSink;
  /** a fetch for the IdP's endpoints (e.g. `caFetch(internalCa)`); default the global fetch */
  readonly fetch?: FetchLike;
  /** the `acr_values` to ask for when a step-up needs `methods`; undefined: none (max_age + amr only) */
  readonly acrValuesFor?: (methods: readonly string[] | undefined) => string | undefined;
  /** development only: allow an `http://` issuer (loopback) */
  readonly allowInsecureRequests?: boolean;
  /**
   * Add `offline_access` to the scopes when the IdP lists it in `scopes_supported` (Okta, Keycloak,
   * Entra ID need it to issue the refresh token revalidation uses); default true.
   */
  readonly requestOfflineAccess?: boolean;
}

/** Who signed in, as the IdP says. */
export interface ExternalIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
  /** identity claims for policies (token internals removed) */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly amr: readonly string[];
  readonly acr: string | null;
  /** ms since the epoch, when the IdP says */
  readonly authTime: number | null;
  readonly sid: string | null;
}

export interface StepUpRequest {
  /** the user whose session is being stepped up: the IdP must sign in the same user */
  readonly userId: string;
  readonly loginHint?: string;
  /** seconds */
  readonly maxAge?: number;
  readonly methods?: readonly string[];
}

export interface LoginResult {
  readonly identity: ExternalIdentity;
  readonly refreshToken: string | null;
  readonly idToken: string;
  readonly returnTo: string;
  readonly stepUp: StepUpRequest | null;
  /** the route host's nonce commitment the sign-in started with (session/handoff.ts), if any */
  readonly handoff: string | null;
}

interface LoginTransaction {
  readonly v: 1;
  readonly codeVerifier: string;
  readonly nonce: string;
  readonly returnTo: string;
  readonly createdAt: number;
  /** SHA-256 of the browser's login cookie */
  readonly binding: string;
  readonly maxAge: number | null;
  readonly stepUp: StepUpRequest | null;
  /** absent in states written before handoffs were bound to a browser */
  readonly handoff?: string | null;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function stateInvalid(why: string): ZtError {
  return new ZtError(
    'ZT_IDENTITY_LOGIN_STATE_INVALID',
    `the sign-in response was refused: ${why}`,
    {
      help: 'start the sign-in again from the app',
    },
  );
}

/** Translates openid-client's errors once, at the boundary; the IdP's raw response never leaks. */
export function translateOidcError(err: unknown): ZtError {
  if (err instanceof ZtError) return err;
  if (err instanceof client.AuthorizationResponseError) {
    return new ZtError(
      'ZT_IDENTITY_IDP_ERROR',
      `the identity provider refused the sign-in (\`${err.error.slice(0, 64)}\`)`,
      {
        help:
          err.error === 'access_denied'
            ? 'the sign-in was cancelled or denied'
            : 'try again, or ask an administrator',
      },
    );
  }
  if (err instanceof client.ResponseBodyError) {
    return new ZtError(
      'ZT_IDENTITY_IDP_ERROR',
      `the identity provider answered with \`${err.error.slice(0, 64)}\``,
      {
        help: 'check the client id and secret, and that the redirect URI is registered',
      },
    );
  }
  if (err instanceof client.ClientError) {
    const cause = err.cause as { code?: string } | undefined;
    if (
      err.code === 'OAUTH_TIMEOUT' ||
      err.code === 'OAUTH_ABORT' ||
      cause?.code === 'ECONNREFUSED'
    ) {
      return new ZtError(
        'ZT_IDENTITY_IDP_UNAVAILABLE',
        'the identity provider did not answer in time',
        { cause: err },
      );
    }
    if (err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || err.code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
      return new ZtError(
        'ZT_IDENTITY_IDP_UNAVAILABLE',
        'the identity provider gave an unexpected answer',
        { cause: err },
      );
    }
    return new ZtError(
      'ZT_IDENTITY_IDP_RESPONSE_INVALID',
      `the identity provider’s response failed validation: ${err.message}`,
      {
        cause: err,
        help: 'if this persists, check the issuer URL, the client id and the IdP’s signing algorithm',
      },
    );
  }
  if (
    err instanceof TypeError ||
    (err instanceof Error &&
      /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket|timed out|certificate/i.test(err.message))
  ) {
    return new ZtError('ZT_IDENTITY_IDP_UNAVAILABLE', 'the identity provider cannot be reached', {
      cause: err,
    });
  }
  return new ZtError(
    'ZT_IDENTITY_IDP_RESPONSE_INVALID',
    'the identity provider’s response could not be processed',
    { cause: err },
  );
}

/** Reads a claim by dotted path (`realm_access.roles`); a literal key with dots wins. */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (path in claims) return claims[path];
  let cur: unknown = claims;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Groups from a claim value: a list of strings (or one string); bounded. */
export function groupsFrom(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  const out = new Set<string>();
  for (const g of list) {
    if (typeof g === 'string' && g.length > 0 && g.length <= 256 && !g.includes('\0')) out.add(g);
    if (out.size >= 512) break;
  }
  return [...out].sort();
}

export class RelyingParty {
  readonly issuer: string;
  private readonly now: () => number;
  private readonly audit: IdentityAuditSink;
  private jwks: { set: ReturnType<typeof createLocalJWKSet>; fetchedAt: number } | undefined;
  /** the IdP's metadata, once discovered */
  private cfg: client.Configuration | undefined;
  private discovering: Promise<client.Configuration> | undefined;

  private constructor(
    private readonly o: RelyingPartyOptions,
    config?: client.Configuration,
  ) {
    this.cfg = config;
    // discovery checks that the document's issuer is exactly this one
    this.issuer = config?.serverMetadata().issuer ?? o.issuer;
    this.now = o.now ?? Date.now;
    this.audit = o.audit ?? (() => undefined);
  }

  /**
   * A relying party that discovers the IdP when first needed, and again on every use until that
   * succeeds: a server can start while its IdP is unreachable, answer sign-ins with 503
   * (`ZT_IDENTITY_IDP_UNAVAILABLE`) meanwhile, and recover by itself.
   */
  static lazy(o: RelyingPartyOptions): RelyingParty {
    return new RelyingParty(o);
  }

  /** Resolves once the IdP's metadata is known; rejects with `ZT_IDENTITY_IDP_UNAVAILABLE`. */
  async ready(): Promise<void> {
    await this.configuration();
  }

  private configuration(): Promise<client.Configuration> {
    if (this.cfg) return Promise.resolve(this.cfg);
    this.discovering ??= RelyingParty.fetchConfiguration(this.o)
      .then((c) => {
        this.cfg = c;
        return c;
      })
      .finally(() => {
        this.discovering = undefined;
      });
    return this.discovering;
  }

  private static async fetchConfiguration(o: RelyingPartyOptions): Promise<client.Configuration> {
    try {
      return await client.discovery(
        new URL(o.issuer),
        o.clientId,
        { client_secret: o.clientSecret, [client.clockTolerance]: CLOCK_TOLERANCE_S },
        client.ClientSecretBasic(o.clientSecret),
        {
          ...(o.fetch ? { [client.customFetch]: o.fetch } : {}),
          ...(o.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}),
          timeout: 10,
        },
      );
    } catch (err) {
      throw translateOidcError(err);
    }
  }

  /** Discovers the IdP (`{issuer}/.well-known/openid-configuration`). */
  static async discover(o: RelyingPartyOptions): Promise<RelyingParty> {
    return new RelyingParty(o, await RelyingParty.fetchConfiguration(o));
  }

  /**
   * A relying party for an IdP whose metadata is already known (the built-in IdP in the same
   * process): no discovery request.
   */
  static fromMetadata(o: RelyingPartyOptions, metadata: client.ServerMetadata): RelyingParty {
    if (metadata.issuer !== o.issuer) throw new TypeError('the metadata is for another issuer');
    const config = new client.Configuration(
      metadata,
      o.clientId,
      { client_secret: o.clientSecret, [client.clockTolerance]: CLOCK_TOLERANCE_S },
      client.ClientSecretBasic(o.clientSecret),
    );
    if (o.fetch) config[client.customFetch] = o.fetch;
    if (o.allowInsecureRequests) client.allowInsecureRequests(config);
    config.timeout = 10;
    return new RelyingParty(o, config);
  }

  private scopes(config: client.Configuration): string {
    const scopes = [...(this.o.scopes ?? ['openid', 'email', 'profile'])];
    const supported = config.serverMetadata().scopes_supported ?? [];
    if (
      this.o.requestOfflineAccess !== false &&
      supported.includes('offline_access') &&
      !scopes.includes('offline_access')
    ) {
      scopes.push('offline_access');
    }
    return scopes.join(' ');
  }

  /** The IdP supports RP-initiated logout. */
  get hasEndSession(): boolean {
    return typeof this.cfg?.serverMetadata().end_session_endpoint === 'string';
  }

  /**
   * Starts a sign-in: returns the IdP URL to send the browser to, and a `Set-Cookie` for the login
   * cookie when the browser has none yet. `returnTo` must already be validated (return-url.ts).
   */
  async beginLogin(input: {
    readonly returnTo: string;
    /** the request's Cookie header: an existing login cookie is reused (several tabs at once) */
    readonly cookieHeader?: string | undefined;
    readonly stepUp?: StepUpRequest;
    readonly loginHint?: string;
    readonly prompt?: 'login' | 'none' | 'consent' | 'select_account';
    /**
     * the commitment to the route host's nonce cookie (session/handoff.ts), carried to the
     * callback so that the handoff ticket is bound to the browser that started the sign-in
     */
    readonly handoff?: string | undefined;
  }): Promise<{ url: string; setCookie: string | undefined }> {
    const existing = parseCookies(input.cookieHeader).get(LOGIN_COOKIE);
    const binding =
      existing && /^[A-Za-z0-9_-]{43}$/.test(existing)
        ? existing
        : randomBytes(32).toString('base64url');
    const config = await this.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const stepUp = input.stepUp ?? null;
    const maxAge = stepUp?.maxAge ?? null;
    const tx: LoginTransaction = {
      v: 1,
      codeVerifier,
      nonce,
      returnTo: input.returnTo,
      createdAt: this.now(),
      binding: sha256(binding),
      maxAge,
      stepUp,
      handoff: input.handoff ?? null,
    };
    const key = LOGIN_PREFIX + sha256(state);
    await this.o.settings.set(key, this.o.box.seal(JSON.stringify(tx), key), this.now());
    const params: Record<string, string> = {
      redirect_uri: this.o.redirectUri,
      scope: this.scopes(config),
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    const hint = stepUp?.loginHint ?? input.loginHint;
    if (hint) params.login_hint = hint;
    if (input.prompt) params.prompt = input.prompt;
    if (stepUp) {
      // A step-up is always a fresh authentication, whatever the IdP's session says.
      params.prompt = 'login';
      if (maxAge !== null) params.max_age = String(maxAge);
      const acr = this.o.acrValuesFor?.(stepUp.methods);
      if (acr) params.acr_values = acr;
    }
    const url = client.buildAuthorizationUrl(config, params).href;
    const setCookie =
      binding === existing
        ? undefined
        : serializeCookie(LOGIN_COOKIE, binding, { maxAge: LOGIN_TTL_MS / 1000 });
    return { url, setCookie };
  }

  /**
   * Completes a sign-in from the callback URL the browser arrived at. Throws
   * `ZT_IDENTITY_LOGIN_STATE_INVALID` (missing, unknown, used, expired or foreign `state`),
   * `ZT_IDENTITY_IDP_ERROR`, `ZT_IDENTITY_IDP_RESPONSE_INVALID`, `ZT_IDENTITY_IDP_UNAVAILABLE` or
   * `ZT_IDENTITY_STEP_UP_FAILED`.
   */
  async completeLogin(callbackUrl: URL, cookieHeader: string | undefined): Promise<LoginResult> {
    const state = callbackUrl.searchParams.get('state');
    if (!state) throw stateInvalid('the response has no `state`');
    if (state.length > 512) throw stateInvalid('the `state` is malformed');
    const key = LOGIN_PREFIX + sha256(state);
    const sealed = await this.o.settings.get(key);
    // Consume first: whatever happens next, this state cannot be used again.
    if (sealed === undefined || !(await this.o.settings.delete(key))) {
      throw stateInvalid('the `state` is unknown or was already used');
    }
    const tx = JSON.parse(this.o.box.open(sealed, key)) as LoginTransaction;
    if (this.now() - tx.createdAt > LOGIN_TTL_MS) throw stateInvalid('the sign-in took too long');
    const cookie = parseCookies(cookieHeader).get(LOGIN_COOKIE) ?? '';
    if (!timingSafeEqual(Buffer.from(sha256(cookie), 'hex'), Buffer.from(tx.binding, 'hex'))) {
      throw stateInvalid('it came back to a different browser than the one that started it');
    }
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(await this.configuration(), callbackUrl, {
        pkceCodeVerifier: tx.codeVerifier,
        expectedState: state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
        ...(tx.maxAge !== null ? { maxAge: tx.maxAge } : {}),
      });
    } catch (err) {
      const e = translateOidcError(err);
      emitAudit(this.audit, {
        kind: 'login',
        time: this.now(),
        action: 'login.idp_failed',
        outcome: 'failure',
        details: { code: e.code, issuer: this.issuer },
      });
      throw e;
    }
    const idToken = tokens.id_token;
    const claims = tokens.claims();
    if (!idToken || !claims)
      throw new ZtError(
        'ZT_IDENTITY_IDP_RESPONSE_INVALID',
        'the identity provider sent no ID token',
      );
    // openid-client checks `exp` and `nbf`; a token issued (or an authentication done) in the
    // future is refused here too.
    const limit = this.now() / 1000 + CLOCK_TOLERANCE_S;
    if (claims.iat > limit || (typeof claims.auth_time === 'number' && claims.auth_time > limit)) {
      throw new ZtError(
        'ZT_IDENTITY_IDP_RESPONSE_INVALID',
        'the identity provider’s response failed validation: the ID token is dated in the future',
        {
          help: 'check the clocks of ztgate and the identity provider',
        },
      );
    }
    const identity = await this.identityFrom(claims, tokens.access_token);
    if (tx.stepUp) this.checkStepUp(identity, tx);
    return {
      identity,
      refreshToken: tokens.refresh_token ?? null,
      idToken,
      returnTo: tx.returnTo,
      stepUp: tx.stepUp,
      handoff: typeof tx.handoff === 'string' ? tx.handoff : null,
    };
  }

  private checkStepUp(identity: ExternalIdentity, tx: LoginTransaction): void {
    const stepUp = tx.stepUp;
    if (!stepUp) return;
    const fail = (why: string): never => {
      emitAudit(this.audit, {
        kind: 'mfa',
        time: this.now(),
        action: 'mfa.step_up.failed',
        outcome: 'failure',
        actor: { user: stepUp.userId },
        details: { reason: why, issuer: this.issuer },
      });
      throw new ZtError('ZT_IDENTITY_STEP_UP_FAILED', `the step-up sign-in was refused: ${why}`, {
        help: 'sign in again with the second factor the app asks for',
      });
    };
    if (identity.authTime === null)
      fail('the identity provider did not say when the user authenticated (`auth_time`)');
    const authTime = identity.authTime ?? 0;
    // A fresh authentication: after the step-up began (with clock tolerance), and within max_age.
    if (authTime < tx.createdAt - CLOCK_TOLERANCE_S * 1000)
      fail('the authentication is older than the step-up request');
    if (
      stepUp.maxAge !== undefined &&
      this.now() - authTime > stepUp.maxAge * 1000 + CLOCK_TOLERANCE_S * 1000
    ) {
      fail('the authentication is older than `max_age`');
    }
    const methods = mfaMethodsFromAmr(identity.amr);
    if (!satisfiesMethods(methods, stepUp.methods)) {
      fail(
        stepUp.methods && stepUp.methods.length > 0
          ? `the authentication did not use ${stepUp.methods.join(' or ')} (\`amr\`: ${identity.amr.join(' ') || 'none'})`
          : `the authentication used no second factor (\`amr\`: ${identity.amr.join(' ') || 'none'})`,
      );
    }
  }

  private async identityFrom(
    idClaims: Record<string, unknown>,
    accessToken: string | undefined,
  ): Promise<ExternalIdentity> {
    const groupsClaim = this.o.groupsClaim ?? 'groups';
    let claims: Record<string, unknown> = { ...idClaims };
    const subject = String(idClaims.sub);
    const needsUserinfo =
      claimAt(claims, groupsClaim) === undefined || typeof claims.email !== 'string';
    const config = await this.configuration();
    if (needsUserinfo && accessToken && config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await client.fetchUserInfo(config, accessToken, subject);
        claims = { ...info, ...idClaims };
      } catch (err) {
        throw translateOidcError(err);
      }
    }
    const email = claims.email;
    if (typeof email !== 'string' || !email.includes('@')) {
      throw new ZtError(
        'ZT_IDENTITY_IDP_RESPONSE_INVALID',
        'the identity provider sent no email address',
        {
          help: 'ask for the `email` scope and make sure the IdP releases the `email` claim',
        },
      );
    }
    if (claims.email_verified === false) {
      throw new ZtError(
        'ZT_IDENTITY_IDP_RESPONSE_INVALID',
        'the identity provider says the email address is not verified',
        {
          help: 'verify the address at the identity provider',
        },
      );
    }
    const amr = Array.isArray(idClaims.amr)
      ? idClaims.amr.filter((a): a is string => typeof a === 'string').slice(0, 32)
      : [];
    const userClaims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(claims)) if (!TOKEN_CLAIMS.has(k)) userClaims[k] = v;
    return {
      issuer: this.issuer,
      subject,
      email,
      name: typeof claims.name === 'string' ? claims.name : '',
      groups: groupsFrom(claimAt(claims, groupsClaim)),
      claims: userClaims,
      amr,
      acr: typeof idClaims.acr === 'string' ? idClaims.acr : null,
      authTime: typeof idClaims.auth_time === 'number' ? idClaims.auth_time * 1000 : null,
      sid: typeof idClaims.sid === 'string' ? idClaims.sid : null,
    };
  }

  /**
   * Checks a session with the IdP again through its refresh token (a SessionRevalidator). The IdP
   * refusing (`invalid_grant`: user disabled or removed, IdP session ended) ends the session; an IdP
   * that cannot be reached does not.
   */
  readonly revalidator = async (session: ActiveSession): Promise<RevalidationResult> => {
    const idp = session.extras.idp;
    if (!idp || idp.issuer !== this.issuer) return { ok: true };
    if (!idp.refreshToken) return { ok: false, reason: 'no-refresh-token' };
    let tokens: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      tokens = await client.refreshTokenGrant(await this.configuration(), idp.refreshToken);
    } catch (err) {
      const e = translateOidcError(err);
      return {
        ok: false,
        reason: e.code === 'ZT_IDENTITY_IDP_UNAVAILABLE' ? 'unavailable' : 'rejected',
      };
    }
    const claims = tokens.claims() as unknown as Record<string, unknown> | undefined;
    if (claims && claims.sub !== idp.subject) return { ok: false, reason: 'rejected' };
    let identity: ExternalIdentity;
    try {
      identity = await this.identityFrom(claims ?? { sub: idp.subject }, tokens.access_token);
    } catch (err) {
      const e = translateOidcError(err);
      return {
        ok: false,
        reason: e.code === 'ZT_IDENTITY_IDP_UNAVAILABLE' ? 'unavailable' : 'rejected',
      };
    }
    return {
      ok: true,
      groups: identity.groups,
      email: identity.email,
      claims: identity.claims,
      ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
      ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
    };
  };

  /** The IdP's end-session URL (RP-initiated logout), when it has one. */
  endSessionUrl(input: { idTokenHint?: string | undefined; state?: string }): string | undefined {
    // not discovered yet (the IdP was unreachable): sign out of ztgate only
    if (!this.cfg || !this.hasEndSession) return undefined;
    const params: Record<string, string> = { client_id: this.o.clientId };
    if (input.idTokenHint) params.id_token_hint = input.idTokenHint;
    if (this.o.postLogoutRedirectUri)
      params.post_logout_redirect_uri = this.o.postLogoutRedirectUri;
    if (input.state) params.state = input.state;
    return client.buildEndSessionUrl(this.cfg, params).href;
  }

  private async fetchJwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
    const uri = (await this.configuration()).serverMetadata().jwks_uri;
    if (!uri)
      throw new ZtError(
        'ZT_IDENTITY_IDP_RESPONSE_INVALID',
        'the identity provider publishes no keys (`jwks_uri`)',
      );
    let doc: JSONWebKeySet;
    try {
      const f = this.o.fetch ?? ((u: string, init) => fetch(u, init as RequestInit));
      const res = await f(uri, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`status ${res.status}`);
      doc = (await res.json()) as JSONWebKeySet;
    } catch (err) {
      throw new ZtError(
        'ZT_IDENTITY_IDP_UNAVAILABLE',
        'the identity provider’s keys cannot be fetched',
        { cause: err },
      );
    }
    const set = createLocalJWKSet(doc);
    this.jwks = { set, fetchedAt: this.now() };
    return set;
  }

  /**
   * Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6):
   * signature with the IdP's keys (fetched again once for an unknown key), `iss`, `aud`, `iat`,
   * the logout event, `sub` or `sid`, no `nonce`, and a `jti` not seen before.
   */
  async verifyLogoutToken(token: string): Promise<{ subject: string | null; sid: string | null }> {
    const invalid = (why: string) =>
      new ZtError('ZT_IDENTITY_LOGOUT_TOKEN_INVALID', `the logout token was refused: ${why}`);
    if (token.length > 16 * 1024 || token.split('.').length !== 3)
      throw invalid('not a signed JWT');
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid('malformed header');
    }
    if (!alg || !ASYMMETRIC_ALGS.includes(alg)) throw invalid('algorithm not accepted');
    const options = {
      issuer: this.issuer,
      audience: this.o.clientId,
      algorithms: ASYMMETRIC_ALGS,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(this.now()),
      maxTokenAge: '10m',
      requiredClaims: ['iat', 'jti', 'events'],
    };
    let payload;
    try {
      const keys = this.jwks?.set ?? (await this.fetchJwks());
      try {
        ({ payload } = await jwtVerify(token, keys, options));
      } catch (err) {
        if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
        ({ payload } = await jwtVerify(token, await this.fetchJwks(), options));
      }
    } catch (err) {
      if (err instanceof ZtError) throw err;
      throw invalid(err instanceof joseErrors.JOSEError ? err.code : 'verification failed');
    }
    const events = payload.events as Record<string, unknown> | undefined;
    if (!events || typeof events !== 'object' || typeof events[BACKCHANNEL_EVENT] !== 'object') {
      throw invalid('it carries no back-channel logout event');
    }
    if ('nonce' in payload) throw invalid('it has a `nonce`');
    const subject = typeof payload.sub === 'string' ? payload.sub : null;
    const sid = typeof payload.sid === 'string' ? payload.sid : null;
    if (!subject && !sid) throw invalid('it names neither `sub` nor `sid`');
    const jtiKey = LOGOUT_JTI_PREFIX + sha256(`${this.issuer}\0${String(payload.jti)}`);
    if (!(await this.o.settings.setIfAbsent(jtiKey, String(this.now()), this.now()))) {
      throw invalid('it was already used');
    }
    return { subject, sid };
  }

  /** Deletes expired sign-in transactions and old logout-token markers. */
  async sweep(): Promise<number> {
    let n = 0;
    const now = this.now();
    for (const [key, sealed] of await this.o.settings.list(LOGIN_PREFIX)) {
      let expired = true;
      try {
        expired =
          now - (JSON.parse(this.o.box.open(sealed, key)) as LoginTransaction).createdAt >
          LOGIN_TTL_MS;
      } catch {
        // unreadable: remove
      }
      if (expired && (await this.o.settings.delete(key))) n++;
    }
    for (const [key, at] of await this.o.settings.list(LOGOUT_JTI_PREFIX)) {
      if (now - Number(at) > 3_600_000 && (await this.o.settings.delete(key))) n++;
    }
    return n;
  }
}
