/**
 * The identity component assembled from a config: what `ztgate serve` mounts and what the proxy
 * calls. One call, `createIdentity`, builds the session manager, the token service, the built-in
 * IdP (with `identity: {builtin: {}}`) and the relying party for whichever IdP is configured.
 *
 * With the built-in IdP the relying party is configured from the IdP's metadata directly; its token
 * and userinfo calls go over the network to `{public_url}/oidc` (ztgate calling itself), so give
 * `fetch: caFetch(internalCaPem)` when the listener's certificate comes from the internal CA. With
 * an external IdP, `createIdentity` fetches its discovery document (and fails with
 * `ZT_IDENTITY_IDP_UNAVAILABLE` when it cannot).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readSecretFile } from '../config/secrets.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../store/events/events.js';
import type { Store } from '../store/store.js';
import { acrForMethods } from './amr.js';
import type { IdentityAuditSink } from './audit.js';
import { createBuiltinIdp, ensureBuiltinClient, type BuiltinIdp } from './idp/provider.js';
import { MfaStore } from './mfa-store.js';
import { routeHosts } from './return-url.js';
import { createAuthHandler, type AuthHandler } from './rp/auth-handler.js';
import type { FetchLike } from './rp/ca-fetch.js';
import type { IdpKind } from './rp/provision.js';
import { RelyingParty } from './rp/relying-party.js';
import type { SecretBox } from './secret-box.js';
import { SessionHandoff } from './session/handoff.js';
import { SessionManager, sessionPolicyFromConfig } from './session/session-manager.js';
import type { ThrottlePolicy } from './throttle.js';
import { TokenService } from './token/tokens.js';

export interface IdentityOptions {
  readonly config: Config;
  readonly store: Store;
  /** the data directory's key (`loadIdentityKey(config.data_dir)`) */
  readonly box: SecretBox;
  readonly audit?: IdentityAuditSink;
  readonly events?: EventBus;
  /** fetch for the relying party's calls to the IdP (e.g. `caFetch(internalCa)`) */
  readonly fetch?: FetchLike;
  /** PEM CAs the built-in IdP trusts when calling ztgate back (back-channel logout) */
  readonly outboundCa?: string;
  readonly clientIp?: (req: IncomingMessage) => string;
  /** the request's client certificate fingerprint (binds new sessions to the device) */
  readonly certFingerprint?: (req: IncomingMessage) => string | undefined;
  readonly deviceId?: (req: IncomingMessage) => string | undefined;
  readonly throttle?: ThrottlePolicy;
  readonly now?: () => number;
  /**
   * An external IdP is discovered when first needed (and again until that works) instead of at
   * creation: a server starts while the IdP is down, answers sign-ins with 503 meanwhile and
   * recovers by itself. `identity.rp.ready()` tells when it is reachable.
   */
  readonly lazyDiscovery?: boolean;
}

export interface Identity {
  readonly kind: IdpKind;
  readonly sessions: SessionManager;
  readonly tokens: TokenService;
  readonly mfa: MfaStore;
  readonly rp: RelyingParty;
  readonly auth: AuthHandler;
  /**
   * Sign-in handoff to route hosts: the proxy's identity port calls `handoff.callback(request)` for
   * `/.ztgate/callback` and `handoff.signOut(request)` for `/.ztgate/sign_out` on route hosts.
   */
  readonly handoff: SessionHandoff;
  /** set with `identity: {builtin: {}}` */
  readonly idp: BuiltinIdp | undefined;
  /** Serves `/oidc/*` (built-in IdP) and `/oauth2/*`; resolves false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /**
   * Housekeeping (run every few minutes): expired sessions, codes, sign-in states, token records,
   * used handoff tickets.
   */
  sweep(): Promise<number>;
  /** The routes changed (config reload, admin API): sign-ins may return to their hosts. */
  setRoutes(routes: Config['routes']): void;
}

export async function createIdentity(o: IdentityOptions): Promise<Identity> {
  const { config, store, box } = o;
  const publicUrl = new URL(config.public_url).origin;
  const now = o.now ?? Date.now;
  /** the route hosts sign-ins may return to (and the IdP's forms may redirect to) */
  let hosts: readonly string[] = routeHosts(config.routes);
  const sessions = new SessionManager({
    sessions: store.sessions,
    users: store.users,
    settings: store.settings,
    devices: store.devices,
    box,
    policy: sessionPolicyFromConfig(config.session),
    now,
    ...(o.audit ? { audit: o.audit } : {}),
    ...(o.events ? { events: o.events } : {}),
  });
  const tokens = await TokenService.open({
    settings: store.settings,
    users: store.users,
    box,
    publicUrl: config.public_url,
    now,
    ...(o.audit ? { audit: o.audit } : {}),
  });
  const mfa = new MfaStore(store.settings, box, now);
  const common = {
    settings: store.settings,
    box,
    now,
    ...(o.audit ? { audit: o.audit } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
  };

  let idp: BuiltinIdp | undefined;
  let rp: RelyingParty;
  let kind: IdpKind;
  const oidc = config.identity.oidc;
  if (oidc) {
    kind = 'external';
    const rpOptions = {
      ...common,
      issuer: oidc.issuer,
      clientId: oidc.client_id,
      clientSecret: readSecretFile(oidc.client_secret_file),
      redirectUri: `${publicUrl}/oauth2/callback`,
      postLogoutRedirectUri: `${publicUrl}/oauth2/signed-out`,
      scopes: oidc.scopes,
      groupsClaim: oidc.groups_claim,
    };
    rp = o.lazyDiscovery ? RelyingParty.lazy(rpOptions) : await RelyingParty.discover(rpOptions);
  } else {
    kind = 'builtin';
    const client = await ensureBuiltinClient(store.settings, box, { publicUrl, now });
    idp = await createBuiltinIdp({
      publicUrl,
      users: store.users,
      settings: store.settings,
      box,
      clients: [client],
      now,
      sessionTtlSeconds: Math.floor(sessions.policy.ttlMs / 1000),
      ...(o.audit ? { audit: o.audit } : {}),
      ...(o.throttle ? { throttle: o.throttle } : {}),
      ...(o.clientIp ? { clientIp: o.clientIp } : {}),
      ...(o.outboundCa ? { outboundCa: o.outboundCa } : {}),
      // a sign-in form's redirects end on the route host it started from (handoff)
      formActionOrigins: () =>
        hosts
          .filter((host) => /^[a-z0-9*.-]+(?::\d+)?$/.test(host))
          .map((host) => `https://${host}`),
    });
    rp = RelyingParty.fromMetadata(
      {
        ...common,
        issuer: idp.issuer,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        redirectUri: client.redirectUris[0] ?? `${publicUrl}/oauth2/callback`,
        postLogoutRedirectUri:
          client.postLogoutRedirectUris?.[0] ?? `${publicUrl}/oauth2/signed-out`,
        scopes: ['openid', 'email', 'profile', 'groups'],
        // the built-in IdP issues refresh tokens to its own client without offline_access
        requestOfflineAccess: false,
        acrValuesFor: acrForMethods,
      },
      idp.metadata,
    );
  }
  sessions.setRevalidator(rp.revalidator);
  const handoff = new SessionHandoff({
    sessions,
    settings: store.settings,
    box,
    publicUrl,
    now,
    ...(o.audit ? { audit: o.audit } : {}),
  });
  const auth = createAuthHandler({
    handoff,
    rp,
    kind,
    sessions,
    users: store.users,
    publicUrl,
    returnUrls: {
      publicUrl,
      // read at every check: `setRoutes` after a config reload or an admin API edit
      get allowedHosts() {
        return hosts;
      },
    },
    now,
    ...(o.audit ? { audit: o.audit } : {}),
    ...(o.clientIp ? { clientIp: o.clientIp } : {}),
    ...(o.certFingerprint ? { certFingerprint: o.certFingerprint } : {}),
    ...(o.deviceId ? { deviceId: o.deviceId } : {}),
  });
  const builtin = idp;
  return {
    kind,
    sessions,
    tokens,
    mfa,
    rp,
    auth,
    handoff,
    idp,
    handle: async (req, res) =>
      (builtin ? await builtin.handle(req, res) : false) || auth.handle(req, res),
    setRoutes: (routes) => {
      hosts = routeHosts(routes);
    },
    sweep: async () =>
      (await sessions.sweep()) +
      (await rp.sweep()) +
      (await tokens.sweep()) +
      (await handoff.sweep()) +
      (builtin ? await builtin.sweep() : await mfa.sweep()),
  };
}
