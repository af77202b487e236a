/**
 * Tokens for programs (`Authorization: Bearer`), issued by `ztgate token issue`.
 *
 * A token is an ES256 JWT (`typ: at+jwt`) signed with the identity token key (see keys.ts):
 * `iss` = public_url, `sub` = the user id (or `svc:<name>` for a service account), `aud` = the route
 * host it is limited to (`--route`) or public_url for every route, `iat`/`nbf`/`exp` (at most 24
 * hours), `jti`. Each issued `jti` is recorded (`identity/tokens/<jti>`), which makes tokens
 * listable and revocable: verification refuses a revoked or unrecorded `jti`, and a disabled user.
 *
 * Verification accepts only ES256 with ztgate's own keys: `alg: none`, HMAC algorithms (a token
 * "signed" with the public key as an HMAC secret) and every other algorithm are refused before any
 * key is looked at.
 */
import { randomBytes } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import { ZtError } from '../../shared/errors.js';
import type { SettingsStore, UserStore } from '../../store/store.js';
import { emitAudit, type IdentityAuditSink } from '../audit.js';
import { loadSigningKeys, publicJwks, type SigningKeySet } from '../keys.js';
import type { SecretBox } from '../secret-box.js';

export const MIN_TOKEN_TTL_MS = 60_000;
export const MAX_TOKEN_TTL_MS = 24 * 3_600_000;
export const TOKEN_TYPE = 'at+jwt';
const MAX_TOKEN_LENGTH = 8 * 1024;
const TOKEN_PREFIX = 'identity/tokens/';
const SERVICE_PREFIX = 'identity/service-accounts/';
const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface ServiceAccount {
  readonly name: string;
  /** the token subject and the decision input's `user.id` */
  readonly id: string;
  readonly groups: readonly string[];
  readonly description: string;
  readonly disabled: boolean;
  readonly createdAt: number;
}

export interface TokenRecord {
  readonly jti: string;
  readonly kind: 'user' | 'service';
  readonly subject: string;
  /** the user's email or the service account's name, for listings */
  readonly label: string;
  readonly audience: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

export interface IssuedToken {
  readonly token: string;
  readonly record: TokenRecord;
}

/** Who a verified bearer token speaks for. */
export interface BearerPrincipal {
  readonly kind: 'user' | 'service';
  /** user id or `svc:<name>` */
  readonly subject: string;
  readonly email?: string;
  /** current groups (read at verification, not frozen in the token) */
  readonly groups: readonly string[];
  readonly jti: string;
  readonly audience: string;
  readonly expiresAt: number;
}

export type TokenSubject =
  | { readonly kind: 'user'; readonly email: string }
  | { readonly kind: 'service'; readonly name: string };

export interface TokenServiceOptions {
  readonly settings: SettingsStore;
  readonly users: UserStore;
  readonly box: SecretBox;
  /** `iss` of every token */
  readonly publicUrl: string;
  readonly now?: () => number;
  readonly audit?: IdentityAuditSink;
  /** clock skew accepted on `exp`/`nbf`/`iat`, seconds; default 30 */
  readonly leewaySeconds?: number;
}

function tokenInvalid(reason: string): ZtError {
  return new ZtError('ZT_IDENTITY_TOKEN_INVALID', `the bearer token is not valid: ${reason}`, {
    help: 'issue a new token with `ztgate token issue`',
  });
}

/** The token from an `Authorization: Bearer <token>` header; undefined when there is none. */
export function bearerTokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  return m?.[1];
}

/** A route host as an audience: lower case, no scheme, no path (`App.Example.com` -> `app.example.com`). */
export function normalizeRouteHost(route: string): string {
  const text = route.trim();
  let host: string;
  try {
    host = /^[a-z]+:\/\//i.test(text) ? new URL(text).host : new URL(`https://${text}`).host;
  } catch {
    throw new ZtError('ZT_CLI_INPUT_INVALID', `\`${route}\` is not a host name`);
  }
  if (!host || /[/?#@]/.test(text.replace(/^[a-z]+:\/\//i, '').replace(/\/$/, ''))) {
    throw new ZtError('ZT_CLI_INPUT_INVALID', `\`${route}\` is not a host name`, {
      help: 'give the route host, such as `app.example.com` or `app.example.com:8443`',
    });
  }
  return host.toLowerCase();
}

export class TokenService {
  private readonly now: () => number;
  private readonly audit: IdentityAuditSink;
  private readonly leeway: number;
  private readonly verifyKeys: ReturnType<typeof createLocalJWKSet>;

  private constructor(
    private readonly o: TokenServiceOptions,
    private readonly keys: SigningKeySet,
  ) {
    this.now = o.now ?? Date.now;
    this.audit = o.audit ?? (() => undefined);
    this.leeway = o.leewaySeconds ?? 30;
    this.verifyKeys = createLocalJWKSet(publicJwks(keys));
  }

  static async open(options: TokenServiceOptions): Promise<TokenService> {
    const keys = await loadSigningKeys(options.settings, options.box, 'token', options.now);
    return new TokenService(options, keys);
  }

  /** The public keys that verify tokens (for upstreams that verify by themselves). */
  jwks(): { keys: JWK[] } {
    return publicJwks(this.keys);
  }

  async issue(input: {
    readonly subject: TokenSubject;
    readonly ttlMs: number;
    /** limit the token to one route host */
    readonly route?: string;
    /** who asked (for the audit log) */
    readonly issuedBy?: string;
  }): Promise<IssuedToken> {
    if (
      !Number.isSafeInteger(input.ttlMs) ||
      input.ttlMs < MIN_TOKEN_TTL_MS ||
      input.ttlMs > MAX_TOKEN_TTL_MS
    ) {
      throw new ZtError(
        'ZT_IDENTITY_TOKEN_TTL_INVALID',
        'a token lives from 1 minute to 24 hours',
        {
          help: 'pass `--ttl` such as `10m` or `8h`',
        },
      );
    }
    let subject: string;
    let label: string;
    let kind: 'user' | 'service';
    if (input.subject.kind === 'user') {
      const user = await this.o.users.getByEmail(input.subject.email);
      if (!user) throw userUnknown(input.subject.email);
      if (user.disabled) throw userDisabled(user.email);
      subject = user.id;
      label = user.email;
      kind = 'user';
    } else {
      const account = await this.getServiceAccount(input.subject.name);
      if (!account) throw serviceUnknown(input.subject.name);
      if (account.disabled) throw userDisabled(account.name);
      subject = account.id;
      label = account.name;
      kind = 'service';
    }
    const audience = input.route === undefined ? this.o.publicUrl : normalizeRouteHost(input.route);
    const now = this.now();
    const iat = Math.floor(now / 1000);
    const exp = iat + Math.floor(input.ttlMs / 1000);
    const jti = randomBytes(16).toString('base64url');
    const signer = this.keys.keys[0];
    if (!signer) throw new Error('no token signing key');
    const key = await importJWK(signer, 'ES256');
    const token = await new SignJWT({ kind })
      .setProtectedHeader({ alg: 'ES256', typ: TOKEN_TYPE, kid: signer.kid ?? '' })
      .setIssuer(this.o.publicUrl)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(key);
    const record: TokenRecord = {
      jti,
      kind,
      subject,
      label,
      audience,
      issuedAt: iat * 1000,
      expiresAt: exp * 1000,
      revokedAt: null,
    };
    await this.o.settings.set(TOKEN_PREFIX + jti, JSON.stringify(record), now);
    emitAudit(this.audit, {
      kind: 'admin',
      time: now,
      action: 'token.issued',
      outcome: 'success',
      actor: input.issuedBy ? { user: input.issuedBy } : {},
      resource: `token:${jti}`,
      details: { subject, audience, expires_at: new Date(exp * 1000).toISOString() },
    });
    return { token, record };
  }

  async revoke(jti: string, by?: string): Promise<boolean> {
    const record = await this.getRecord(jti);
    if (!record || record.revokedAt !== null) return false;
    const now = this.now();
    await this.o.settings.set(
      TOKEN_PREFIX + jti,
      JSON.stringify({ ...record, revokedAt: now }),
      now,
    );
    emitAudit(this.audit, {
      kind: 'admin',
      time: now,
      action: 'token.revoked',
      outcome: 'success',
      actor: by ? { user: by } : {},
      resource: `token:${jti}`,
      details: { subject: record.subject },
    });
    return true;
  }

  async getRecord(jti: string): Promise<TokenRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(jti)) return undefined;
    const raw = await this.o.settings.get(TOKEN_PREFIX + jti);
    return raw === undefined ? undefined : (JSON.parse(raw) as TokenRecord);
  }

  /** Recorded tokens, newest first; expired ones only when asked. */
  async list(options: { includeExpired?: boolean } = {}): Promise<TokenRecord[]> {
    const now = this.now();
    const out: TokenRecord[] = [];
    for (const raw of (await this.o.settings.list(TOKEN_PREFIX)).values()) {
      const r = JSON.parse(raw) as TokenRecord;
      if (options.includeExpired || r.expiresAt > now) out.push(r);
    }
    return out.sort((a, b) => b.issuedAt - a.issuedAt || a.jti.localeCompare(b.jti));
  }

  /**
   * Verifies a bearer token for a request to `route` (a host) or, without one, for ztgate itself.
   * Throws `ZT_IDENTITY_TOKEN_INVALID`, `ZT_IDENTITY_TOKEN_REVOKED` or `ZT_IDENTITY_USER_DISABLED`;
   * messages never contain the token.
   */
  async verify(token: string, options: { readonly route?: string } = {}): Promise<BearerPrincipal> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) {
      throw tokenInvalid('not a signed JWT');
    }
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw tokenInvalid('malformed header');
    }
    if (header.alg !== 'ES256')
      throw tokenInvalid(`algorithm \`${String(header.alg).slice(0, 16)}\` is not accepted`);
    const audiences = [this.o.publicUrl];
    if (options.route !== undefined) audiences.push(normalizeRouteHost(options.route));
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.verifyKeys, {
        algorithms: ['ES256'],
        issuer: this.o.publicUrl,
        audience: audiences,
        typ: TOKEN_TYPE,
        clockTolerance: this.leeway,
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp'],
      }));
    } catch (err) {
      throw tokenInvalid(joseReason(err));
    }
    const jti = String(payload.jti);
    const exp = Number(payload.exp);
    const iat = Number(payload.iat);
    if (exp - iat > MAX_TOKEN_TTL_MS / 1000 + this.leeway) throw tokenInvalid('lifetime too long');
    const record = await this.getRecord(jti);
    if (!record || record.subject !== payload.sub) {
      throw new ZtError('ZT_IDENTITY_TOKEN_REVOKED', 'the bearer token is not known to ztgate');
    }
    if (record.revokedAt !== null) {
      throw new ZtError('ZT_IDENTITY_TOKEN_REVOKED', 'the bearer token was revoked');
    }
    const audience = Array.isArray(payload.aud) ? String(payload.aud[0]) : String(payload.aud);
    if (record.kind === 'service') {
      const account = await this.getServiceAccount(record.label);
      if (!account || account.id !== record.subject) throw serviceUnknown(record.label);
      if (account.disabled) throw userDisabled(account.name);
      return {
        kind: 'service',
        subject: account.id,
        groups: account.groups,
        jti,
        audience,
        expiresAt: exp * 1000,
      };
    }
    const user = await this.o.users.get(record.subject);
    if (!user)
      throw new ZtError('ZT_IDENTITY_TOKEN_REVOKED', 'the bearer token’s user no longer exists');
    if (user.disabled) throw userDisabled(user.email);
    return {
      kind: 'user',
      subject: user.id,
      email: user.email,
      groups: user.groups,
      jti,
      audience,
      expiresAt: exp * 1000,
    };
  }

  // service accounts ---------------------------------------------------------------------------

  async addServiceAccount(
    name: string,
    options: { groups?: readonly string[]; description?: string } = {},
  ): Promise<ServiceAccount> {
    if (!SERVICE_NAME.test(name)) {
      throw new ZtError('ZT_CLI_INPUT_INVALID', `\`${name}\` is not a service account name`, {
        help: 'use 1 to 63 lower-case letters, digits, `.`, `_` or `-`, starting with a letter or digit',
      });
    }
    const now = this.now();
    const account: ServiceAccount = {
      name,
      id: `svc:${name}`,
      groups: [...new Set(options.groups ?? [])].sort(),
      description: options.description ?? '',
      disabled: false,
      createdAt: now,
    };
    if (!(await this.o.settings.setIfAbsent(SERVICE_PREFIX + name, JSON.stringify(account), now))) {
      throw new ZtError(
        'ZT_IDENTITY_SERVICE_ACCOUNT_EXISTS',
        `a service account \`${name}\` already exists`,
      );
    }
    emitAudit(this.audit, {
      kind: 'admin',
      time: now,
      action: 'service_account.created',
      outcome: 'success',
      resource: `service:${name}`,
      details: { groups: account.groups },
    });
    return account;
  }

  async getServiceAccount(name: string): Promise<ServiceAccount | undefined> {
    if (!SERVICE_NAME.test(name)) return undefined;
    const raw = await this.o.settings.get(SERVICE_PREFIX + name);
    return raw === undefined ? undefined : (JSON.parse(raw) as ServiceAccount);
  }

  async listServiceAccounts(): Promise<ServiceAccount[]> {
    return [...(await this.o.settings.list(SERVICE_PREFIX)).values()].map(
      (v) => JSON.parse(v) as ServiceAccount,
    );
  }

  /** Removes a service account and revokes its tokens. */
  async removeServiceAccount(name: string): Promise<number> {
    const account = await this.getServiceAccount(name);
    if (!account) throw serviceUnknown(name);
    await this.o.settings.delete(SERVICE_PREFIX + name);
    let revoked = 0;
    for (const r of await this.list()) {
      if (r.subject === account.id && (await this.revoke(r.jti))) revoked++;
    }
    return revoked;
  }

  /** Deletes records of tokens expired for more than a day. */
  async sweep(): Promise<number> {
    const cutoff = this.now() - 24 * 3_600_000;
    let n = 0;
    for (const [key, raw] of await this.o.settings.list(TOKEN_PREFIX)) {
      if (
        (JSON.parse(raw) as TokenRecord).expiresAt < cutoff &&
        (await this.o.settings.delete(key))
      )
        n++;
    }
    return n;
  }
}

function joseReason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'not yet valid';
      case 'iat':
        return 'issued in the future';
      case 'iss':
        return 'issued by someone else';
      case 'aud':
        return 'meant for another audience';
      case 'typ':
        return 'not an access token';
      default:
        return `claim \`${err.claim}\` is missing or wrong`;
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not accepted';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'signed with an unknown key';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  return 'malformed';
}

function userUnknown(email: string): ZtError {
  return new ZtError('ZT_IDENTITY_USER_UNKNOWN', `no user has the email \`${email}\``, {
    help: 'list users with `ztgate user list`',
  });
}

function userDisabled(who: string): ZtError {
  return new ZtError('ZT_IDENTITY_USER_DISABLED', `\`${who}\` is disabled`, {
    help: 'enable it with `ztgate user enable` first',
  });
}

function serviceUnknown(name: string): ZtError {
  return new ZtError(
    'ZT_IDENTITY_SERVICE_ACCOUNT_UNKNOWN',
    `no service account is named \`${name}\``,
    {
      help: 'list them with `ztgate token service list`',
    },
  );
}
