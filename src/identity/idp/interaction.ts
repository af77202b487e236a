/**
 * The built-in IdP's sign-in interaction: the pages and endpoints under
 * `<mount>/interaction/<uid>` that oidc-provider sends the browser to, and the static assets.
 *
 * A sign-in collects factors (`pwd`, `otp`, `hwk`) until the required level is reached, then
 * finishes the interaction with `amr`, `acr` and the time (see ../amr.ts):
 * - the required level is the highest of the `acr_values` asked for, and at least "two factors"
 *   for a user who has a second factor enrolled (an enrolled factor is always used);
 * - a passkey with user verification is phishing-resistant and counts as two factors by itself;
 * - a user who must reach a level without having the factor for it enrols one during the sign-in,
 *   after proving the factors they already have (first factor enrolment trusts the password);
 * - with an IdP session already there (step-up, `prompt=login`, `max_age`), the user re-proves a
 *   factor; the session's earlier factors count towards the level, a fresh one is always needed.
 *
 * State between steps lives sealed in the store under `identity/interaction/<hash(uid)>`; the
 * interaction itself is bound to the browser by oidc-provider's interaction cookie, which every
 * step checks (`interactionDetails`). Posts must come from our origin. Password and code failures
 * go through the brute-force throttle and are audited.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type Provider from 'oidc-provider';
import type { InteractionDetails } from 'oidc-provider';
import type { SettingsStore, UserRecord, UserStore } from '../../store/store.js';
import { ZtError, type ErrorCode } from '../../shared/errors.js';
import { ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT, acrLevel } from '../amr.js';
import { emitAudit, type IdentityAuditSink } from '../audit.js';
import {
  BodyError,
  readForm,
  readJson,
  redirect,
  sameOrigin,
  sendHtml,
  sendJson,
  securityHeaders,
} from '../http.js';
import { hasSecondFactor, type MfaRecord, type MfaStore } from '../mfa-store.js';
import {
  hashPassword,
  needsRehash,
  passwordProblems,
  verifyAgainstDummy,
  verifyPassword,
} from '../password.js';
import type { SecretBox } from '../secret-box.js';
import type { AttemptContext, LoginThrottle } from '../throttle.js';
import { looksLikeRecoveryCode, matchTotp, newTotpSecret, totpUri } from '../totp.js';
import { ASSETS } from './assets.js';
import {
  enrolChoicePage,
  loginPage,
  messagePage,
  passkeyPage,
  recoveryCodesPage,
  totpEnrolPage,
  totpPage,
  type PageContext,
} from './pages.js';

type Factor = 'pwd' | 'otp' | 'hwk';

interface LoginState {
  readonly userId: string | null;
  readonly email: string | null;
  /** factors proven in this interaction */
  readonly factors: readonly Factor[];
  /** the IdP session's `amr` when this interaction re-authenticates its user */
  readonly carried: readonly string[];
  readonly challenge: {
    readonly value: string;
    readonly kind: 'authenticate' | 'register';
    readonly at: number;
  } | null;
  readonly pendingTotp: string | null;
  readonly recoveryCodes: readonly string[] | null;
  readonly expiresAt: number;
}

export interface InteractionPagesOptions {
  readonly provider: Provider;
  readonly users: UserStore;
  readonly mfa: MfaStore;
  readonly throttle: LoginThrottle;
  readonly settings: SettingsStore;
  readonly box: SecretBox;
  readonly audit: IdentityAuditSink;
  readonly now: () => number;
  /** the public origin, `https://auth.example.com` (WebAuthn origin; its host is the RP id) */
  readonly publicUrl: string;
  readonly mountPath: string;
  /** the pages' Content-Security-Policy, read per page (form-action follows the routes) */
  readonly csp: () => string;
  readonly clientIp: (req: IncomingMessage) => string;
}

const STATE_PREFIX = 'identity/interaction/';
const UID = /^[A-Za-z0-9_-]{8,64}$/;
const CHALLENGE_TTL_MS = 5 * 60_000;
const WEBAUTHN_TIMEOUT_MS = 120_000;

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** 0 one factor, 1 two factors, 2 phishing-resistant. */
function achievedLevel(factors: readonly string[]): number {
  if (factors.includes('hwk')) return 2;
  const distinct = new Set(factors.filter((f) => f === 'pwd' || f === 'otp'));
  return distinct.size >= 2 ? 1 : 0;
}

function secondsText(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 120 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`;
}

export class InteractionPages {
  private readonly page: PageContext;
  private readonly rpId: string;

  constructor(private readonly o: InteractionPagesOptions) {
    this.page = { mount: o.mountPath };
    this.rpId = new URL(o.publicUrl).hostname;
  }

  // -------------------------------------------------------------------------------------------
  // routing

  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const m = this.o.mountPath;
    if (path.startsWith(`${m}/assets/`))
      return this.asset(path.slice(`${m}/assets/`.length), req, res);
    if (!path.startsWith(`${m}/interaction/`)) return false;
    const [uid, ...rest] = path.slice(`${m}/interaction/`.length).split('/');
    const action = rest.join('/');
    if (!uid || !UID.test(uid)) return this.fail(res, 404, 'Not found', 'There is nothing here.');
    const method = req.method ?? 'GET';
    if (method === 'POST' && !sameOrigin(req, this.o.publicUrl)) {
      return this.fail(
        res,
        403,
        'Request refused',
        'This request did not come from the sign-in page.',
      );
    }
    let details: InteractionDetails;
    try {
      details = await this.o.provider.interactionDetails(req, res);
    } catch {
      return this.fail(
        res,
        400,
        'Sign-in expired',
        'This sign-in is no longer valid. Go back to the app and sign in again.',
      );
    }
    if (details.uid !== uid) {
      return this.fail(
        res,
        400,
        'Sign-in expired',
        'This sign-in is no longer valid. Go back to the app and sign in again.',
      );
    }
    try {
      return await this.route(method, action, uid, details, req, res);
    } catch (err) {
      if (err instanceof BodyError)
        return this.fail(res, err.status, 'Request refused', err.message);
      throw err;
    }
  }

  private async route(
    method: string,
    action: string,
    uid: string,
    details: InteractionDetails,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean> {
    const state = await this.loadState(uid, details);
    const key = `${method} ${action}`;
    switch (key) {
      case 'GET ':
        await this.next(uid, details, state, req, res);
        return true;
      case 'POST password':
        await this.password(uid, state, req, res);
        return true;
      case 'POST totp':
        await this.totp(uid, details, state, req, res);
        return true;
      case 'POST webauthn/options':
        await this.webauthnOptions(uid, state, req, res);
        return true;
      case 'POST webauthn/verify':
        await this.webauthnVerify(uid, state, req, res);
        return true;
      case 'POST enrol/totp':
        await this.enrolTotp(uid, state, res);
        return true;
      case 'POST enrol/totp/confirm':
        await this.enrolTotpConfirm(uid, state, req, res);
        return true;
      case 'POST enrol/webauthn/options':
        await this.enrolWebauthnOptions(uid, state, res);
        return true;
      case 'POST enrol/webauthn/verify':
        await this.enrolWebauthnVerify(uid, state, req, res);
        return true;
      case 'POST continue':
        await this.saveState(uid, { ...state, recoveryCodes: null });
        redirect(res, this.url(uid), [], 303);
        return true;
      case 'POST abort':
        await this.deleteState(uid);
        await this.o.provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
          { mergeWithLastSubmission: false },
        );
        return true;
      default:
        return this.fail(res, 404, 'Not found', 'There is nothing here.');
    }
  }

  private asset(name: string, req: IncomingMessage, res: ServerResponse): boolean {
    const asset = Object.values(ASSETS).find((a) => a.path === name);
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return this.fail(res, 404, 'Not found', 'There is nothing here.');
    }
    securityHeaders(res);
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Content-Length', Buffer.byteLength(asset.body));
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }

  private url(uid: string, action = ''): string {
    return `${this.o.mountPath}/interaction/${uid}${action ? `/${action}` : ''}`;
  }

  private fail(res: ServerResponse, status: number, title: string, message: string): true {
    sendHtml(res, status, messagePage(this.page, { title, message }), this.o.csp());
    return true;
  }

  private html(
    res: ServerResponse,
    status: number,
    html: string,
    headers: Record<string, string> = {},
  ): void {
    sendHtml(res, status, html, this.o.csp(), headers);
  }

  // -------------------------------------------------------------------------------------------
  // state

  private stateKey(uid: string): string {
    return STATE_PREFIX + createHash('sha256').update(uid).digest('base64url');
  }

  private async loadState(uid: string, details: InteractionDetails): Promise<LoginState> {
    const key = this.stateKey(uid);
    const sealed = await this.o.settings.get(key);
    if (sealed !== undefined) {
      const s = JSON.parse(this.o.box.open(sealed, key)) as LoginState;
      if (s.expiresAt > this.o.now()) return s;
    }
    const expiresAt = details.exp * 1000;
    const base: LoginState = {
      userId: null,
      email: null,
      factors: [],
      carried: [],
      challenge: null,
      pendingTotp: null,
      recoveryCodes: null,
      expiresAt,
    };
    const accountId = details.session?.accountId;
    if (accountId) {
      const user = await this.o.users.get(accountId);
      if (user && !user.disabled) {
        return { ...base, userId: user.id, email: user.email, carried: details.session?.amr ?? [] };
      }
    }
    return base;
  }

  private async saveState(uid: string, state: LoginState): Promise<void> {
    const key = this.stateKey(uid);
    await this.o.settings.set(key, this.o.box.seal(JSON.stringify(state), key), this.o.now());
  }

  private async deleteState(uid: string): Promise<void> {
    await this.o.settings.delete(this.stateKey(uid));
  }

  /** Deletes the states of interactions that expired. */
  async sweep(): Promise<number> {
    let n = 0;
    const now = this.o.now();
    for (const [key, sealed] of await this.o.settings.list(STATE_PREFIX)) {
      let expired = true;
      try {
        expired = (JSON.parse(this.o.box.open(sealed, key)) as LoginState).expiresAt <= now;
      } catch {
        // unreadable: remove
      }
      if (expired && (await this.o.settings.delete(key))) n++;
    }
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // the next step

  private requestedLevel(details: InteractionDetails): number {
    const acr = details.params.acr_values;
    if (typeof acr !== 'string' || acr === '') return 0;
    return Math.max(...acr.split(' ').map((a) => acrLevel(a)));
  }

  private clientName(details: InteractionDetails): string | undefined {
    const id = details.params.client_id;
    return typeof id === 'string' ? id : undefined;
  }

  private async next(
    uid: string,
    details: InteractionDetails,
    state: LoginState,
    req: IncomingMessage,
    res: ServerResponse,
    message?: { error?: string; status?: number; code?: ErrorCode },
  ): Promise<void> {
    if (details.prompt.name === 'consent') {
      await this.consent(details, req, res);
      return;
    }
    const client = this.clientName(details);
    if (!state.userId) {
      this.html(
        res,
        message?.status ?? 200,
        loginPage(this.page, {
          uid,
          ...(client ? { client } : {}),
          ...(message?.error ? { error: message.error } : {}),
        }),
      );
      return;
    }
    const user = await this.o.users.get(state.userId);
    if (!user || user.disabled) {
      await this.saveState(uid, { ...state, userId: null, email: null, factors: [], carried: [] });
      this.html(
        res,
        401,
        loginPage(this.page, { uid, error: 'The email or password is incorrect.' }),
      );
      return;
    }
    if (state.recoveryCodes) {
      this.html(res, 200, recoveryCodesPage(this.page, { uid, codes: state.recoveryCodes }));
      return;
    }
    const record = await this.o.mfa.get(user.id);
    const passkeys = record.webauthn?.credentials.length ?? 0;
    const required = Math.max(this.requestedLevel(details), hasSecondFactor(record) ? 1 : 0);
    const all = uniq([...state.carried, ...state.factors]);
    const level = achievedLevel(all);
    const err = message?.error
      ? { error: message.error, ...(message.code ? { code: message.code } : {}) }
      : {};
    const status = message?.status ?? 200;

    const fresh = state.factors.length > 0;
    if (fresh && level >= required) {
      await this.finish(uid, user, all, level, req, res);
      return;
    }
    const page = (kind: 'password' | 'totp' | 'passkey' | 'enrol' | 'enrol-passkey'): void => {
      switch (kind) {
        case 'password':
          this.html(
            res,
            status,
            loginPage(this.page, {
              uid,
              email: user.email,
              notice: 'Confirm your password to continue.',
              ...err,
            }),
          );
          return;
        case 'totp':
          this.html(
            res,
            status,
            totpPage(this.page, { uid, who: user.email, passkeyToo: passkeys > 0, ...err }),
          );
          return;
        case 'passkey':
          this.html(
            res,
            status,
            passkeyPage(this.page, {
              uid,
              who: user.email,
              reason: required >= 2 ? 'This app needs a passkey.' : 'Confirm it is you.',
              ...err,
            }),
          );
          return;
        case 'enrol':
        case 'enrol-passkey':
          this.html(
            res,
            status,
            enrolChoicePage(this.page, {
              uid,
              who: user.email,
              passkeyOnly: kind === 'enrol-passkey',
              ...err,
            }),
          );
          return;
      }
    };
    if (!fresh) {
      // Re-authentication over an existing IdP session: one fresh factor first, the strongest asked.
      if (required >= 2 && passkeys > 0) page('passkey');
      else if (record.totp) page('totp');
      else if (passkeys > 0) page('passkey');
      else page('password');
      return;
    }
    if (required >= 2) {
      if (passkeys > 0) page('passkey');
      // enrolling a passkey needs the MFA the user already has
      else if (hasSecondFactor(record) && level < 1) page('totp');
      else page('enrol-passkey');
      return;
    }
    if (record.totp) page('totp');
    else if (passkeys > 0) page('passkey');
    else page('enrol');
  }

  private async finish(
    uid: string,
    user: UserRecord,
    factors: readonly string[],
    level: number,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const amr = uniq([
      ...factors.filter((f) => f === 'pwd' || f === 'otp' || f === 'hwk'),
      ...(factors.includes('hwk') ? ['user'] : []),
      ...(level >= 1 ? ['mfa'] : []),
    ]).sort();
    const acr = level >= 2 ? ACR_PHISHING_RESISTANT : level === 1 ? ACR_MFA : ACR_PASSWORD;
    const ip = this.o.clientIp(req);
    await this.o.throttle.recordSuccess({ email: user.email, ip });
    emitAudit(this.o.audit, {
      kind: 'login',
      time: this.o.now(),
      action: 'login.succeeded',
      outcome: 'success',
      actor: { user: user.id, email: user.email },
      source_ip: ip,
      details: { amr, acr },
    });
    await this.deleteState(uid);
    await this.o.provider.interactionFinished(
      req,
      res,
      {
        login: {
          accountId: user.id,
          amr,
          acr,
          ts: Math.floor(this.o.now() / 1000),
          remember: true,
        },
      },
      { mergeWithLastSubmission: false },
    );
  }

  /** ztgate's clients are first-party: consent is recorded without asking. */
  private async consent(
    details: InteractionDetails,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const accountId = details.session?.accountId;
    const clientId = details.params.client_id;
    if (!accountId || typeof clientId !== 'string') {
      this.fail(res, 400, 'Sign-in problem', 'The sign-in request could not be completed.');
      return;
    }
    const provider = this.o.provider;
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId });
    const d = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
    };
    if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  // -------------------------------------------------------------------------------------------
  // password

  private async password(
    uid: string,
    state: LoginState,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const form = await readForm(req);
    const email = (form.get('email') ?? '').trim().slice(0, 320);
    const password = form.get('password') ?? '';
    const again = (
      error: string,
      status: number,
      code: ErrorCode,
      headers: Record<string, string> = {},
    ) => this.html(res, status, loginPage(this.page, { uid, email, error, code }), headers);
    if (!email || !password) {
      again('Enter your email and password.', 400, 'ZT_IDENTITY_INVALID_CREDENTIALS');
      return;
    }
    const ip = this.o.clientIp(req);
    const user = await this.o.users.getByEmail(email);
    const attempt: AttemptContext = { email, ip, ...(user ? { userId: user.id } : {}) };
    const verdict = await this.o.throttle.check(attempt);
    if (!verdict.allowed) {
      again(
        verdict.reason === 'locked'
          ? `Too many failed attempts: sign-in is locked. Try again in ${secondsText(verdict.retryAfterMs)}.`
          : `Too many failed attempts. Try again in ${secondsText(verdict.retryAfterMs)}.`,
        429,
        verdict.reason === 'locked' ? 'ZT_IDENTITY_LOCKED_OUT' : 'ZT_IDENTITY_THROTTLED',
        { 'Retry-After': String(Math.ceil(verdict.retryAfterMs / 1000)) },
      );
      return;
    }
    let ok = false;
    const hash = user && !user.disabled ? user.passwordHash : null;
    if (hash) {
      try {
        ok = await verifyPassword(password, hash);
      } catch (err) {
        if (!(err instanceof ZtError)) throw err;
        ok = false;
      }
    } else {
      await verifyAgainstDummy(password);
    }
    if (!ok || !user) {
      const reason = !user
        ? 'unknown-user'
        : user.disabled
          ? 'user-disabled'
          : hash
            ? 'bad-password'
            : 'no-password';
      await this.o.throttle.recordFailure(attempt, reason);
      again('The email or password is incorrect.', 401, 'ZT_IDENTITY_INVALID_CREDENTIALS');
      return;
    }
    if (hash && needsRehash(hash) && passwordProblems(password).length === 0) {
      await this.o.users.update(user.id, {
        passwordHash: await hashPassword(password),
        at: this.o.now(),
      });
    }
    const sameUser = state.userId === user.id;
    await this.saveState(uid, {
      ...state,
      userId: user.id,
      email: user.email,
      factors: uniq([...(sameUser ? state.factors : []), 'pwd']),
      carried: sameUser ? state.carried : [],
    });
    redirect(res, this.url(uid), [], 303);
  }

  // -------------------------------------------------------------------------------------------
  // TOTP and recovery codes

  private async totp(
    uid: string,
    details: InteractionDetails,
    state: LoginState,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const form = await readForm(req);
    if (!state.userId || !state.email) {
      redirect(res, this.url(uid), [], 303);
      return;
    }
    const code = (form.get('code') ?? '').trim().slice(0, 64);
    const ip = this.o.clientIp(req);
    const attempt: AttemptContext = { email: state.email, ip, userId: state.userId };
    const verdict = await this.o.throttle.check(attempt);
    if (!verdict.allowed) {
      await this.next(uid, details, state, req, res, {
        error: `Too many failed attempts. Try again in ${secondsText(verdict.retryAfterMs)}.`,
        status: 429,
        code: verdict.reason === 'locked' ? 'ZT_IDENTITY_LOCKED_OUT' : 'ZT_IDENTITY_THROTTLED',
      });
      return;
    }
    let ok = await this.o.mfa.verifyTotp(state.userId, code);
    let recovery = false;
    if (!ok && looksLikeRecoveryCode(code)) {
      ok = await this.o.mfa.useRecoveryCode(state.userId, code);
      recovery = ok;
    }
    if (!ok) {
      await this.o.throttle.recordFailure(attempt, 'bad-totp');
      emitAudit(this.o.audit, {
        kind: 'mfa',
        time: this.o.now(),
        action: 'mfa.totp.failed',
        outcome: 'failure',
        actor: { user: state.userId, email: state.email },
        source_ip: ip,
      });
      await this.next(uid, details, state, req, res, {
        error: 'That code is not valid. Codes change every 30 seconds and each works once.',
        status: 401,
        code: 'ZT_IDENTITY_INVALID_CREDENTIALS',
      });
      return;
    }
    if (recovery) {
      emitAudit(this.o.audit, {
        kind: 'mfa',
        time: this.o.now(),
        action: 'mfa.recovery_code.used',
        outcome: 'success',
        actor: { user: state.userId, email: state.email },
        source_ip: ip,
        details: { left: (await this.o.mfa.summary(state.userId)).recoveryCodesLeft },
      });
    }
    await this.saveState(uid, { ...state, factors: uniq([...state.factors, 'otp']) });
    redirect(res, this.url(uid), [], 303);
  }

  // -------------------------------------------------------------------------------------------
  // passkeys: sign-in

  private async webauthnOptions(
    uid: string,
    state: LoginState,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    await readJson(req);
    const record: MfaRecord | undefined = state.userId
      ? await this.o.mfa.get(state.userId)
      : undefined;
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      userVerification: 'required',
      timeout: WEBAUTHN_TIMEOUT_MS,
      allowCredentials: (record?.webauthn?.credentials ?? []).map((c) => ({
        id: c.id,
        transports: c.transports as AuthenticatorTransport[],
      })),
    });
    await this.saveState(uid, {
      ...state,
      challenge: { value: options.challenge, kind: 'authenticate', at: this.o.now() },
    });
    sendJson(res, 200, options);
  }

  private async webauthnVerify(
    uid: string,
    state: LoginState,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const body = (await readJson(req)) as AuthenticationResponseJSON;
    const challenge = state.challenge;
    // A challenge is good for one answer only.
    await this.saveState(uid, { ...state, challenge: null });
    const ip = this.o.clientIp(req);
    const refuse = async (reason: string, userId?: string, email?: string) => {
      if (email)
        await this.o.throttle.recordFailure({ email, ip, ...(userId ? { userId } : {}) }, reason);
      emitAudit(this.o.audit, {
        kind: 'mfa',
        time: this.o.now(),
        action: 'mfa.webauthn.failed',
        outcome: 'failure',
        actor: { ...(userId ? { user: userId } : {}), ...(email ? { email } : {}) },
        source_ip: ip,
        details: { reason },
      });
      sendJson(res, 400, {
        code: 'ZT_IDENTITY_WEBAUTHN_FAILED',
        message: 'The passkey could not be verified.',
      });
    };
    if (
      !challenge ||
      challenge.kind !== 'authenticate' ||
      this.o.now() - challenge.at > CHALLENGE_TTL_MS
    ) {
      await refuse('no-challenge');
      return;
    }
    if (
      !body ||
      typeof body !== 'object' ||
      typeof body.id !== 'string' ||
      typeof body.response !== 'object'
    ) {
      await refuse('malformed');
      return;
    }
    const handle =
      typeof body.response.userHandle === 'string' ? body.response.userHandle : undefined;
    const handleOwner = handle ? await this.o.mfa.userIdForHandle(handle) : undefined;
    const ownerId = state.userId ?? handleOwner;
    if (!ownerId || (handle !== undefined && handleOwner !== ownerId)) {
      await refuse('unknown-credential');
      return;
    }
    const user = await this.o.users.get(ownerId);
    if (!user || user.disabled) {
      await refuse('user-unavailable', ownerId);
      return;
    }
    const verdict = await this.o.throttle.check({ email: user.email, ip, userId: user.id });
    if (!verdict.allowed) {
      sendJson(
        res,
        429,
        {
          code: verdict.reason === 'locked' ? 'ZT_IDENTITY_LOCKED_OUT' : 'ZT_IDENTITY_THROTTLED',
          message: `Too many failed attempts. Try again in ${secondsText(verdict.retryAfterMs)}.`,
        },
        { 'Retry-After': String(Math.ceil(verdict.retryAfterMs / 1000)) },
      );
      return;
    }
    const record = await this.o.mfa.get(user.id);
    const cred = record.webauthn?.credentials.find((c) => c.id === body.id);
    if (!cred) {
      await refuse('unknown-credential', user.id, user.email);
      return;
    }
    let newCounter: number;
    try {
      const v = await verifyAuthenticationResponse({
        response: body,
        expectedChallenge: challenge.value,
        expectedOrigin: this.o.publicUrl,
        expectedRPID: this.rpId,
        credential: {
          id: cred.id,
          publicKey: new Uint8Array(Buffer.from(cred.publicKey, 'base64url')),
          counter: cred.counter,
          transports: cred.transports as AuthenticatorTransport[],
        },
        requireUserVerification: true,
      });
      if (!v.verified) throw new Error('not verified');
      newCounter = v.authenticationInfo.newCounter;
    } catch {
      await refuse('bad-assertion', user.id, user.email);
      return;
    }
    if (!(await this.o.mfa.recordWebAuthnUse(user.id, cred.id, newCounter))) {
      await refuse('counter-regressed', user.id, user.email);
      return;
    }
    const sameUser = state.userId === user.id;
    await this.saveState(uid, {
      ...state,
      challenge: null,
      userId: user.id,
      email: user.email,
      factors: uniq([...(sameUser ? state.factors : []), 'hwk']),
      carried: sameUser ? state.carried : [],
    });
    sendJson(res, 200, { next: this.url(uid) });
  }

  // -------------------------------------------------------------------------------------------
  // enrolment (during sign-in, after the factors the user already has)

  /** The user may enrol a new factor: signed in freshly, and with their enrolled MFA if any. */
  private async mayEnrol(state: LoginState): Promise<UserRecord | undefined> {
    if (!state.userId || state.factors.length === 0) return undefined;
    const user = await this.o.users.get(state.userId);
    if (!user || user.disabled) return undefined;
    const record = await this.o.mfa.get(user.id);
    const all = uniq([...state.carried, ...state.factors]);
    if (hasSecondFactor(record) && achievedLevel(all) < 1) return undefined;
    return user;
  }

  private async enrolTotp(uid: string, state: LoginState, res: ServerResponse): Promise<void> {
    const user = await this.mayEnrol(state);
    if (!user) {
      redirect(res, this.url(uid), [], 303);
      return;
    }
    const secret = state.pendingTotp ?? newTotpSecret();
    await this.saveState(uid, { ...state, pendingTotp: secret });
    this.html(
      res,
      200,
      totpEnrolPage(this.page, { uid, secret, uri: totpUri(secret, user.email) }),
    );
  }

  private async enrolTotpConfirm(
    uid: string,
    state: LoginState,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const form = await readForm(req);
    const user = await this.mayEnrol(state);
    if (!user || !state.pendingTotp) {
      redirect(res, this.url(uid), [], 303);
      return;
    }
    const code = form.get('code') ?? '';
    if (matchTotp(state.pendingTotp, code, this.o.now()) === undefined) {
      this.html(
        res,
        400,
        totpEnrolPage(this.page, {
          uid,
          secret: state.pendingTotp,
          uri: totpUri(state.pendingTotp, user.email),
          error: 'That code does not match. Check the key you entered and the time on your device.',
        }),
      );
      return;
    }
    const { recoveryCodes } = await this.o.mfa.enrolTotp(user.id, { secret: state.pendingTotp });
    // the code just shown may not be used again to sign in
    await this.o.mfa.verifyTotp(user.id, code);
    emitAudit(this.o.audit, {
      kind: 'mfa',
      time: this.o.now(),
      action: 'mfa.enrolled',
      outcome: 'success',
      actor: { user: user.id, email: user.email },
      source_ip: this.o.clientIp(req),
      details: { method: 'totp' },
    });
    await this.saveState(uid, {
      ...state,
      pendingTotp: null,
      factors: uniq([...state.factors, 'otp']),
      recoveryCodes,
    });
    this.html(res, 200, recoveryCodesPage(this.page, { uid, codes: recoveryCodes }));
  }

  private async enrolWebauthnOptions(
    uid: string,
    state: LoginState,
    res: ServerResponse,
  ): Promise<void> {
    const user = await this.mayEnrol(state);
    if (!user) {
      sendJson(res, 403, { message: 'Sign in first.' });
      return;
    }
    const handle = await this.o.mfa.webauthnUserHandle(user.id);
    const record = await this.o.mfa.get(user.id);
    const options = await generateRegistrationOptions({
      rpName: 'ztgate',
      rpID: this.rpId,
      userName: user.email,
      userID: new Uint8Array(Buffer.from(handle, 'base64url')),
      userDisplayName: user.displayName || user.email,
      attestationType: 'none',
      timeout: WEBAUTHN_TIMEOUT_MS,
      excludeCredentials: (record.webauthn?.credentials ?? []).map((c) => ({
        id: c.id,
        transports: c.transports as AuthenticatorTransport[],
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    await this.saveState(uid, {
      ...state,
      challenge: { value: options.challenge, kind: 'register', at: this.o.now() },
    });
    sendJson(res, 200, options);
  }

  private async enrolWebauthnVerify(
    uid: string,
    state: LoginState,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const body = (await readJson(req)) as RegistrationResponseJSON;
    const challenge = state.challenge;
    await this.saveState(uid, { ...state, challenge: null });
    const user = await this.mayEnrol(state);
    if (
      !user ||
      !challenge ||
      challenge.kind !== 'register' ||
      this.o.now() - challenge.at > CHALLENGE_TTL_MS
    ) {
      sendJson(res, 400, {
        code: 'ZT_IDENTITY_WEBAUTHN_FAILED',
        message: 'Start the passkey registration again.',
      });
      return;
    }
    let info;
    try {
      const v = await verifyRegistrationResponse({
        response: body,
        expectedChallenge: challenge.value,
        expectedOrigin: this.o.publicUrl,
        expectedRPID: this.rpId,
        requireUserVerification: true,
      });
      if (!v.verified) throw new Error('not verified');
      info = v.registrationInfo;
    } catch {
      emitAudit(this.o.audit, {
        kind: 'mfa',
        time: this.o.now(),
        action: 'mfa.webauthn.enrol_failed',
        outcome: 'failure',
        actor: { user: user.id, email: user.email },
        source_ip: this.o.clientIp(req),
      });
      sendJson(res, 400, {
        code: 'ZT_IDENTITY_WEBAUTHN_FAILED',
        message: 'The passkey could not be registered.',
      });
      return;
    }
    await this.o.mfa.addWebAuthnCredential(user.id, {
      id: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: info.credential.transports ?? [],
      name: 'passkey',
      backedUp: info.credentialBackedUp,
    });
    emitAudit(this.o.audit, {
      kind: 'mfa',
      time: this.o.now(),
      action: 'mfa.enrolled',
      outcome: 'success',
      actor: { user: user.id, email: user.email },
      source_ip: this.o.clientIp(req),
      details: { method: 'webauthn' },
    });
    // Creating a user-verified passkey proves possession of it now.
    await this.saveState(uid, {
      ...state,
      challenge: null,
      factors: uniq([...state.factors, 'hwk']),
    });
    sendJson(res, 200, { next: this.url(uid) });
  }
}
