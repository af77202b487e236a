/**
 * A separate `oidc-provider` instance on its own port, in the role of Okta or Keycloak: RS256 keys,
 * its own accounts, a sign-in "page" that signs in whoever the test says with the `amr` the test
 * says, back-channel and RP-initiated logout, refresh tokens. Keys can be rotated.
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import Provider, { type Account, type KoaContext } from 'oidc-provider';
import { startServer, testCertificate, type TestServer } from './servers.js';
import { Agent } from 'node:https';
import { randomBytes } from 'node:crypto';

export interface ExternalAccount {
  email: string;
  name?: string;
  groups?: string[];
  /** more claims, e.g. `realm_access: {roles: [...]}` (Keycloak) */
  extra?: Record<string, unknown>;
  disabled?: boolean;
  emailVerified?: boolean;
}

export interface ExternalClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
  readonly backchannelLogoutUri: string;
}

export interface ExternalIdp {
  readonly issuer: string;
  readonly server: TestServer;
  readonly accounts: Map<string, ExternalAccount>;
  /** who the next sign-in signs in, and how */
  next: { sub: string; amr: string[]; acr?: string };
  /** the `kid`s the provider has, signing key first */
  kids(): string[];
  /** a new signing key first (the old one kept for verification), as a key rotation does */
  rotateKeys(): Promise<void>;
  /** a logout token signed with the provider's current key (for replay tests) */
  logoutToken(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

async function rsaKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return {
    ...jwk,
    kid: `k${randomBytes(6).toString('hex')}`,
    alg: 'RS256',
    use: 'sig',
  };
}

export async function startExternalIdp(
  client: ExternalClient,
  options: { readonly port?: number } = {},
): Promise<ExternalIdp> {
  const server = await startServer(undefined, options.port ?? 0);
  const issuer = server.origin;
  const accounts = new Map<string, ExternalAccount>();
  let keys: JWK[] = [await rsaKey()];
  const state: { next: ExternalIdp['next'] } = { next: { sub: 'ext-user', amr: ['pwd'] } };
  const agent = new Agent({ ca: testCertificate().cert });

  const build = (): Provider => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          redirect_uris: [client.redirectUri],
          post_logout_redirect_uris: [client.postLogoutRedirectUri],
          backchannel_logout_uri: client.backchannelLogoutUri,
          backchannel_logout_session_required: true,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ],
      jwks: { keys },
      findAccount: (_ctx: unknown, sub: string): Account | undefined => {
        const a = accounts.get(sub);
        if (!a || a.disabled) return undefined;
        return {
          accountId: sub,
          claims: () => ({
            sub,
            email: a.email,
            email_verified: a.emailVerified ?? true,
            name: a.name ?? a.email,
            groups: a.groups ?? [],
            ...(a.extra ?? {}),
          }),
        };
      },
      claims: {
        openid: ['sub', 'acr', 'amr', 'auth_time'],
        email: ['email', 'email_verified'],
        profile: ['name'],
        groups: ['groups', 'realm_access'],
        sid: null,
      },
      scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
      conformIdTokenClaims: false,
      acrValues: ['urn:example:mfa'],
      cookies: { keys: ['external test idp cookie key'] },
      interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
      features: {
        devInteractions: { enabled: false },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: { enabled: true },
      },
      loadExistingGrant: async (ctx: KoaContext) => {
        const grant = new ctx.oidc.provider.Grant({
          accountId: ctx.oidc.session?.accountId ?? '',
          clientId: client.clientId,
        });
        grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
        await grant.save();
        return grant;
      },
      issueRefreshToken: () => true,
      pkce: { required: () => true },
      httpOptions: () => ({ agent }),
    });
    provider.proxy = true;
    return provider;
  };

  let provider = build();
  let callback = provider.callback();
  server.setHandler(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/interaction/')) {
      await provider.interactionFinished(
        req,
        res,
        {
          login: {
            accountId: state.next.sub,
            amr: state.next.amr,
            ...(state.next.acr ? { acr: state.next.acr } : {}),
            ts: Math.floor(Date.now() / 1000),
          },
        },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    req.headers['x-forwarded-proto'] = 'https';
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      callback(req, res);
    });
  });

  return {
    issuer,
    server,
    accounts,
    get next() {
      return state.next;
    },
    set next(v) {
      state.next = v;
    },
    kids: () => keys.map((k) => k.kid ?? ''),
    rotateKeys: async () => {
      keys = [await rsaKey(), ...keys];
      provider = build();
      callback = provider.callback();
    },
    logoutToken: async (claims) => {
      const key = keys[0] as JWK;
      return new SignJWT({
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        jti: randomBytes(12).toString('base64url'),
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid ?? '', typ: 'logout+jwt' })
        .setIssuer(issuer)
        .setAudience(client.clientId)
        .setIssuedAt()
        .sign(await importJWK(key, 'RS256'));
    },
    close: async () => {
      agent.destroy();
      await server.close();
    },
  };
}
