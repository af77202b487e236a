/**
 * The built-in identity provider: `oidc-provider` 8 (a certified OpenID Provider) mounted under
 * `{public_url}/oidc`, with ztgate's users, pages, keys and storage.
 *
 * - Accounts come from the store's UserStore (`findAccount`); a disabled or deleted user has no
 *   account, so the IdP refuses their refresh tokens and the relying party ends their sessions.
 * - Signing keys: ES256, generated for this installation and kept sealed in the store (keys.ts).
 * - Artifacts (sessions, codes, tokens, grants) in the store through adapter.ts.
 * - Clients are static: ztgate's own relying party (see `ensureBuiltinClient`) and any configured.
 *   They are first-party, so consent is granted without a prompt (`loadExistingGrant`).
 * - ID tokens carry `amr`, `acr` and `auth_time` (see ../amr.ts); `acr_values` above the session's
 *   level prompts for a new sign-in.
 * - Back-channel logout and RP-initiated logout are on; refresh tokens are issued to clients allowed
 *   the refresh_token grant (for revalidation) and expire with the IdP session.
 */
import { Agent as HttpsAgent } from 'node:https';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { interactionPolicy, type Account, type KoaContext } from 'oidc-provider';
import type { ServerMetadata } from 'openid-client';
import type { SettingsStore, UserStore } from '../../store/store.js';
import { acrLevel, BUILTIN_ACR_VALUES } from '../amr.js';
import type { IdentityAuditSink } from '../audit.js';
import { pageCsp, socketIp } from '../http.js';
import { loadSigningKeys } from '../keys.js';
import { MfaStore } from '../mfa-store.js';
import type { SecretBox } from '../secret-box.js';
import { LoginThrottle, type ThrottlePolicy } from '../throttle.js';
import { settingsAdapter, sweepOidcArtifacts } from './adapter.js';
import { reauthRequiredAfter } from '../session/session-manager.js';
import { InteractionPages } from './interaction.js';
import { logoutPage, messagePage } from './pages.js';

export const DEFAULT_MOUNT = '/oidc';

/** The provider's endpoints below the issuer, pinned (the relying party uses them without discovery). */
export const BUILTIN_ROUTES = {
  authorization: '/auth',
  token: '/token',
  jwks: '/jwks',
  userinfo: '/me',
  end_session: '/session/end',
  revocation: '/token/revocation',
} as const;

export interface BuiltinClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly backchannelLogoutUri?: string;
  readonly name?: string;
}

export interface BuiltinIdpOptions {
  /** `https://auth.example.com`: the IdP's issuer is this plus the mount path */
  readonly publicUrl: string;
  readonly mountPath?: string;
  readonly users: UserStore;
  readonly settings: SettingsStore;
  readonly box: SecretBox;
  readonly clients: readonly BuiltinClient[];
  readonly audit?: IdentityAuditSink;
  readonly now?: () => number;
  /** the IdP session's and refresh tokens' lifetime, seconds (the `session.ttl`); default 8 hours */
  readonly sessionTtlSeconds?: number;
  readonly throttle?: ThrottlePolicy;
  /** the client's address; default the socket peer (set this behind a trusted proxy) */
  readonly clientIp?: (req: IncomingMessage) => string;
  /** PEM CA certificates to trust when calling clients back (back-channel logout) */
  readonly outboundCa?: string;
  /**
   * More origins a sign-in form's redirect chain may end on (`https://app.example.com`,
   * `https://*.example.com`): the route hosts a sign-in returns to through the handoff.
   */
  /** read on every page: a config reload can add route hosts */
  readonly formActionOrigins?: readonly string[] | (() => readonly string[]);
}

export interface BuiltinIdp {
  /** `{public_url}/oidc` */
  readonly issuer: string;
  /**
   * The provider's discovery metadata, known without a request: the relying party of the same
   * process is configured from it before the listener accepts connections.
   */
  readonly metadata: ServerMetadata;
  readonly mountPath: string;
  /** Handles a request under the mount path; resolves false for anything else. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Removes expired artifacts (sessions, codes, tokens, sign-in states). */
  sweep(): Promise<number>;
  readonly provider: Provider;
}

/**
 * The client registration of ztgate's own relying party at the built-in IdP: a random secret,
 * created once and kept sealed in the store, so every replica uses the same one.
 */
export async function ensureBuiltinClient(
  settings: SettingsStore,
  box: SecretBox,
  options: {
    readonly publicUrl: string;
    readonly clientId?: string;
    readonly redirectPath?: string;
    readonly backchannelLogoutPath?: string;
    readonly postLogoutPath?: string;
    readonly now?: () => number;
  },
): Promise<BuiltinClient> {
  const clientId = options.clientId ?? 'ztgate';
  const key = `identity/idp/client-secret/${clientId}`;
  const now = options.now ?? Date.now;
  let sealed = await settings.get(key);
  if (sealed === undefined) {
    await settings.setIfAbsent(key, box.seal(randomBytes(32).toString('base64url'), key), now());
    sealed = (await settings.get(key)) ?? '';
  }
  const origin = new URL(options.publicUrl).origin;
  return {
    clientId,
    clientSecret: box.open(sealed, key),
    redirectUris: [`${origin}${options.redirectPath ?? '/oauth2/callback'}`],
    postLogoutRedirectUris: [`${origin}${options.postLogoutPath ?? '/oauth2/signed-out'}`],
    backchannelLogoutUri: `${origin}${options.backchannelLogoutPath ?? '/oauth2/backchannel-logout'}`,
    name: 'ztgate',
  };
}

function stripTrailingSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

export async function createBuiltinIdp(o: BuiltinIdpOptions): Promise<BuiltinIdp> {
  const now = o.now ?? Date.now;
  const audit = o.audit ?? (() => undefined);
  const mountPath = stripTrailingSlash(o.mountPath ?? DEFAULT_MOUNT);
  const publicUrl = new URL(o.publicUrl);
  const origin = publicUrl.origin;
  const issuer = `${origin}${mountPath}`;
  const secure = publicUrl.protocol === 'https:';
  const ttl = o.sessionTtlSeconds ?? 8 * 3600;
  const keys = await loadSigningKeys(o.settings, o.box, 'idp', now);
  const cookieKeys = await loadCookieKeys(o.settings, o.box, now);
  const mfa = new MfaStore(o.settings, o.box, now);
  const throttle = new LoginThrottle(o.settings, audit, now, o.throttle);
  const pageContext = { mount: mountPath };
  // Form posts end in a redirect to a client's redirect_uri; CSP form-action applies to redirects,
  // all the way: ztgate's own callback goes on to the route host the sign-in started from.
  const clientOrigins = o.clients.flatMap((c) =>
    [...c.redirectUris, ...(c.postLogoutRedirectUris ?? [])].map((u) => new URL(u).origin),
  );
  const extraOrigins = o.formActionOrigins;
  let cached: { key: string; csp: string } | undefined;
  const csp = (): string => {
    const extra = typeof extraOrigins === 'function' ? extraOrigins() : (extraOrigins ?? []);
    const formOrigins = new Set<string>([...extra, ...clientOrigins]);
    formOrigins.delete(origin);
    const key = [...formOrigins].join(' ');
    if (cached?.key !== key) cached = { key, csp: pageCsp([...formOrigins]) };
    return cached.csp;
  };

  const findAccount = async (_ctx: unknown, sub: string): Promise<Account | undefined> => {
    const user = await o.users.get(sub);
    if (!user || user.disabled) return undefined;
    return {
      accountId: user.id,
      claims: () => ({
        sub: user.id,
        email: user.email,
        email_verified: true,
        name: user.displayName || user.email,
        groups: [...user.groups],
      }),
    };
  };

  const policy = interactionPolicy.base();
  // `acr_values` is only a wish in OIDC; ztgate treats a wish above the session's level as a reason
  // to sign in again (step-up), rather than silently answering with a weaker acr.
  policy.get('login')?.checks.push(
    new interactionPolicy.Check('acr_level', 'requested ACR needs a new sign-in', (ctx) => {
      const requested =
        typeof ctx.oidc.params?.acr_values === 'string' ? ctx.oidc.params.acr_values : '';
      if (!requested || !ctx.oidc.session?.accountId)
        return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const wanted = Math.max(...requested.split(' ').map((a) => acrLevel(a)));
      return wanted > acrLevel(ctx.oidc.session.acr)
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );

  // A ztgate session revoked (by an administrator, the user elsewhere, a password or MFA reset)
  // must not come back through this IdP's own sign-in session without the user signing in again.
  policy.get('login')?.checks.push(
    new interactionPolicy.Check(
      'revoked_since_sign_in',
      'the user’s sessions were revoked after this sign-in',
      async (ctx) => {
        const session = ctx.oidc.session;
        if (!session?.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const after = await reauthRequiredAfter(o.settings, session.accountId);
        // loginTs has whole seconds: a sign-in in the same second as the revocation may have come
        // before it, so it is asked again too (a logout does not set the mark, so signing in
        // right after signing out is never asked twice)
        const signedInSecond = (session.authTime() ?? 0) * 1000;
        return after !== undefined && signedInSecond <= after
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT;
      },
    ),
  );

  const firstParty = new Set(o.clients.map((c) => c.clientId));
  const agent = o.outboundCa ? new HttpsAgent({ ca: o.outboundCa, keepAlive: false }) : undefined;

  const provider = new Provider(issuer, {
    adapter: settingsAdapter(o.settings, o.box, now),
    clients: o.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      client_name: c.name ?? c.clientId,
      redirect_uris: [...c.redirectUris],
      post_logout_redirect_uris: [...(c.postLogoutRedirectUris ?? [])],
      ...(c.backchannelLogoutUri
        ? {
            backchannel_logout_uri: c.backchannelLogoutUri,
            backchannel_logout_session_required: true,
          }
        : {}),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    })),
    jwks: { keys: keys.keys },
    findAccount,
    claims: {
      // acr, amr and auth_time in every ID token: the relying party's step-up checks need them
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
      sid: null,
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    acrValues: [...BUILTIN_ACR_VALUES],
    cookies: {
      keys: cookieKeys,
      names: {
        session: 'ztgate_idp_session',
        interaction: 'ztgate_idp_interaction',
        resume: 'ztgate_idp_resume',
      },
      long: { httpOnly: true, sameSite: 'lax', secure, signed: true },
      short: { httpOnly: true, sameSite: 'lax', secure, signed: true },
    },
    interactions: {
      policy,
      url: (_ctx: unknown, interaction: { uid: string }) =>
        `${mountPath}/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: KoaContext, form: string) => {
          ctx.type = 'html';
          ctx.body = logoutPage(pageContext, { form, host: publicUrl.host });
        },
        postLogoutSuccessSource: (ctx: KoaContext) => {
          ctx.type = 'html';
          ctx.body = messagePage(pageContext, {
            title: 'Signed out',
            message: 'You are signed out. You can close this window.',
          });
        },
      },
    },
    loadExistingGrant: async (ctx: KoaContext) => {
      const client = ctx.oidc.client;
      const session = ctx.oidc.session;
      if (!client || !session?.accountId) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!firstParty.has(client.clientId)) return existing;
      // ztgate's own clients: consent is implied; the grant covers what is asked for.
      const grant =
        existing ??
        new ctx.oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      const claims = [...ctx.oidc.requestParamClaims];
      if (claims.length > 0) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    // Refresh tokens stay with ztgate's server side; rotation would add no protection and would end
    // sessions when two replicas revalidate the same one at once.
    rotateRefreshToken: false,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 900,
      Session: ttl,
      Grant: ttl,
      RefreshToken: ttl,
    },
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    clockTolerance: 5,
    renderError: (ctx: KoaContext, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.set('Content-Security-Policy', csp());
      ctx.body = messagePage(pageContext, {
        title: 'Sign-in problem',
        message: out.error_description
          ? `${out.error_description}`
          : 'The sign-in request could not be completed.',
      });
    },
    httpOptions: () => ({ ...(agent ? { agent } : {}), signal: AbortSignal.timeout(5000) }),
    responseTypes: ['code'],
    routes: BUILTIN_ROUTES,
  });
  provider.proxy = true;
  // CSP and other headers on every page the provider renders (its form_post and logout pages add
  // their own script hashes to this CSP).
  provider.use(async (ctx, next) => {
    ctx.set('Content-Security-Policy', csp());
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('X-Frame-Options', 'DENY');
    await next();
  });
  // oidc-provider reports server errors through events; the message text may carry request details,
  // so only the error's name goes anywhere.
  provider.on('server_error', () => undefined);
  provider.on('backchannel.error', () => undefined);

  const pages = new InteractionPages({
    provider,
    users: o.users,
    mfa,
    throttle,
    settings: o.settings,
    box: o.box,
    audit,
    now,
    publicUrl: origin,
    mountPath,
    csp,
    clientIp: o.clientIp ?? socketIp,
  });
  const callback = provider.callback();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = req.url ?? '/';
    if (url !== mountPath && !url.startsWith(`${mountPath}/`) && !url.startsWith(`${mountPath}?`))
      return false;
    if (await pages.handle(req, res)) return true;
    // Hand the rest to oidc-provider, as if mounted: it sees the path below the mount point and
    // builds its URLs from public_url whatever Host the request carried.
    const r = req as IncomingMessage & { originalUrl?: string };
    r.originalUrl = url;
    req.url = url.slice(mountPath.length) || '/';
    req.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    req.headers['x-forwarded-host'] = publicUrl.host;
    req.headers['x-forwarded-for'] = (o.clientIp ?? socketIp)(req);
    await new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
      callback(req, res);
    });
    return true;
  };

  return {
    issuer,
    metadata: {
      issuer,
      authorization_endpoint: `${issuer}${BUILTIN_ROUTES.authorization}`,
      token_endpoint: `${issuer}${BUILTIN_ROUTES.token}`,
      jwks_uri: `${issuer}${BUILTIN_ROUTES.jwks}`,
      userinfo_endpoint: `${issuer}${BUILTIN_ROUTES.userinfo}`,
      end_session_endpoint: `${issuer}${BUILTIN_ROUTES.end_session}`,
      revocation_endpoint: `${issuer}${BUILTIN_ROUTES.revocation}`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['ES256'],
      scopes_supported: ['openid', 'offline_access', 'email', 'profile', 'groups'],
      acr_values_supported: [...BUILTIN_ACR_VALUES],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      authorization_response_iss_parameter_supported: true,
    },
    mountPath,
    provider,
    handle,
    sweep: async () =>
      (await sweepOidcArtifacts(o.settings, o.box, now)) +
      (await pages.sweep()) +
      (await mfa.sweep()),
  };
}

async function loadCookieKeys(
  settings: SettingsStore,
  box: SecretBox,
  now: () => number,
): Promise<string[]> {
  const key = 'identity/idp/cookie-keys';
  let sealed = await settings.get(key);
  if (sealed === undefined) {
    await settings.setIfAbsent(
      key,
      box.seal(JSON.stringify([randomBytes(32).toString('base64url')]), key),
      now(),
    );
    sealed = (await settings.get(key)) ?? '';
  }
  return JSON.parse(box.open(sealed, key)) as string[];
}
