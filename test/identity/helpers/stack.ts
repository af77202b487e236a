/**
 * A whole identity stack on one HTTPS server, as `ztgate serve` will mount it: the built-in IdP
 * under /oidc, the relying party's /oauth2/* endpoints, and a stand-in for the proxy at /app/* that
 * asks the real PDP (login / step-up / allow) with the session's decision facts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { loadConfigText } from '../../../src/config/load.js';
import type { IdentityAuditEvent } from '../../../src/identity/audit.js';
import { createIdentity, type Identity } from '../../../src/identity/identity.js';
import type { BuiltinIdp } from '../../../src/identity/idp/provider.js';
import { esc } from '../../../src/identity/idp/pages.js';
import type { MfaStore } from '../../../src/identity/mfa-store.js';
import type { AuthHandler } from '../../../src/identity/rp/auth-handler.js';
import type { RelyingParty } from '../../../src/identity/rp/relying-party.js';
import { SecretBox } from '../../../src/identity/secret-box.js';
import { sessionIdFromCookies } from '../../../src/identity/session/cookie.js';
import {
  toDecisionFacts,
  type SessionManager,
} from '../../../src/identity/session/session-manager.js';
import type { ThrottlePolicy } from '../../../src/identity/throttle.js';
import { UserAdmin } from '../../../src/identity/users.js';
import { decide } from '../../../src/pdp/test-helpers/decide.js';
import type { UserRecord } from '../../../src/store/store.js';
import { startServer, testCertificate, testFetch, type TestServer } from './servers.js';
import { tempStore, type TempStore } from './env.js';

/** The policies of the stand-in app, by path prefix. */
export const APP_POLICIES: Record<string, object> = {
  '/app/passkey': {
    allow: [{ authenticated: true, mfa: { methods: ['webauthn'], max_age: '5m' } }],
  },
  '/app/mfa': { allow: [{ authenticated: true, mfa: { max_age: '10m' } }] },
  '/app': { allow: [{ authenticated: true }] },
};

export interface IdentityStack {
  readonly server: TestServer;
  readonly origin: string;
  readonly env: TempStore;
  readonly box: SecretBox;
  readonly idp: BuiltinIdp;
  readonly rp: RelyingParty;
  readonly sessions: SessionManager;
  readonly auth: AuthHandler;
  readonly mfa: MfaStore;
  readonly audit: IdentityAuditEvent[];
  addUser(email: string, password?: string, groups?: string[]): Promise<UserRecord>;
  close(): Promise<void>;
}

export async function startIdentityStack(
  options: { throttle?: ThrottlePolicy } = {},
): Promise<IdentityStack> {
  const env = await tempStore();
  const server = await startServer();
  const box = SecretBox.random();
  const audit: IdentityAuditEvent[] = [];
  const { config } = loadConfigText(
    `public_url: ${server.origin}\ndata_dir: ${env.dataDir}\nsession: {ttl: 8h, idle: 1h, revalidate: 15m}\n`,
    join(env.dir, 'ztgate.yaml'),
  );
  const identity: Identity = await createIdentity({
    config,
    store: env.store,
    box,
    audit: (e) => void audit.push(e),
    fetch: testFetch(),
    outboundCa: testCertificate().cert,
    ...(options.throttle ? { throttle: options.throttle } : {}),
  });
  const app = createApp(identity.sessions, identity.auth, server.origin);
  server.setHandler(async (req, res) => {
    if (await identity.handle(req, res)) return;
    if ((req.url ?? '').startsWith('/app')) return app(req, res);
    res.writeHead(404).end();
  });
  const { idp, rp, sessions, auth, mfa } = identity;
  if (!idp) throw new Error('the built-in IdP is the default');
  const admin = new UserAdmin({ users: env.store.users });
  return {
    server,
    origin: server.origin,
    env,
    box,
    idp,
    rp,
    sessions,
    auth,
    mfa,
    audit,
    addUser: (email, password, groups = []) =>
      admin.add({ email, groups, ...(password ? { password } : {}) }),
    close: async () => {
      await server.close();
      await env.cleanup();
    },
  };
}

/** The stand-in for the proxy: PDP decision on the session's facts; login, step-up or the page. */
export function createApp(
  sessions: SessionManager,
  handler: AuthHandler,
  origin: string,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const lookup = await sessions.lookup(sessionIdFromCookies(req.headers.cookie));
    const prefix = Object.keys(APP_POLICIES).find((p) => url.pathname.startsWith(p)) ?? '/app';
    const facts = lookup.ok ? toDecisionFacts(lookup.session) : {};
    const decision = decide(APP_POLICIES[prefix] ?? {}, {
      ...facts,
      request: { method: req.method ?? 'GET', path: url.pathname, time: Date.now() },
    });
    if (decision.decision === 'login' || !lookup.ok) {
      res.writeHead(302, { location: handler.signInUrl(url.href) }).end();
      return;
    }
    if (decision.decision === 'step_up') {
      const requirement = decision.reasons.find((r) => r.step_up)?.step_up ?? {};
      const r = await handler.stepUpRedirect(req, lookup.session, requirement, url.href);
      res
        .writeHead(302, {
          location: r.location,
          ...(r.setCookies.length ? { 'set-cookie': [...r.setCookies] } : {}),
        })
        .end();
      return;
    }
    if (decision.decision !== 'allow') {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('denied');
      return;
    }
    const s = lookup.session;
    const info = {
      email: s.user.email,
      groups: s.user.groups,
      mfa: s.record.mfaMethods,
      amr: s.extras.amr,
      acr: s.extras.acr,
    };
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>app</title></head><body><main><h1>Hello ${esc(s.user.email)}</h1><pre id="info">${esc(JSON.stringify(info))}</pre><form method="post" action="/oauth2/sign_out"><button id="signout" type="submit">Sign out</button></form></main></body></html>`;
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'",
      })
      .end(html);
  };
}
