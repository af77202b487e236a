/**
 * ztgate as `ztgate serve` will assemble it, for tests of sign-in on app hosts: the real proxy on
 * 127.0.0.1 in front of two apps on their own hosts (`app.localhost`, `other.localhost`, one echo
 * upstream), the real identity component (built-in IdP) mounted on the public host
 * (`auth.localhost`), and a test-only adapter of identity as the proxy's identity port. Every host
 * name resolves to 127.0.0.1 through `fetch` (give browsers a host resolver rule).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfigText } from '../../../src/config/load.js';
import type { IdentityAuditEvent } from '../../../src/identity/audit.js';
import { createIdentity, type Identity } from '../../../src/identity/identity.js';
import { caFetch, type FetchLike } from '../../../src/identity/rp/ca-fetch.js';
import { SecretBox } from '../../../src/identity/secret-box.js';
import { sessionIdFromCookies } from '../../../src/identity/session/cookie.js';
import { handoffCommitment } from '../../../src/identity/session/handoff.js';
import { toDecisionFacts } from '../../../src/identity/session/session-manager.js';
import { UserAdmin } from '../../../src/identity/users.js';
import { buildEngine } from '../../../src/pdp/index.js';
import type { IdentityPort } from '../../../src/pep/ports.js';
import {
  startProxy,
  startUpstream,
  type Harness,
  type Upstream,
} from '../../pep/helpers/harness.js';
import { tempStore, type TempStore } from './env.js';
import { certificateFor, loopbackLookup } from './servers.js';

export const PASSWORD = 'correct horse battery staple';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** What `ztgate serve` will wire: identity's sessions, sign-in URL and handoff as the proxy's port. */
export function identityPort(identity: Identity): IdentityPort {
  return {
    async resolve(request) {
      const raw = sessionIdFromCookies(request.cookie);
      if (raw === undefined) return undefined;
      const lookup = await identity.sessions.lookup(raw, {
        certFingerprint: request.clientCertFingerprint,
      });
      if (!lookup.ok) return undefined;
      const facts = toDecisionFacts(lookup.session);
      return {
        user: facts.user,
        session: {
          id: facts.session.id,
          mfa: { methods: facts.session.mfa.methods, at: facts.session.mfa.at },
        },
        deviceId: lookup.session.record.deviceId ?? undefined,
        boundCertFingerprint: lookup.session.extras.certFingerprint ?? undefined,
      };
    },
    // as `ztgate serve` wires it: the nonce's commitment, never the nonce, in the URL
    loginUrl: (returnUrl, options) =>
      identity.auth.signInUrl(
        returnUrl,
        options?.nonce !== undefined ? { handoff: handoffCommitment(options.nonce) } : {},
      ),
    stepUpUrl: (returnUrl, _requirement, options) =>
      identity.auth.signInUrl(
        returnUrl,
        options?.nonce !== undefined ? { handoff: handoffCommitment(options.nonce) } : {},
      ),
    handoff: (request) => identity.handoff.callback(request),
    signOut: (request) => identity.handoff.signOut(request),
  };
}

export interface ProxiedStack {
  readonly port: number;
  readonly identity: Identity;
  /** adds more users (PASSWORD is only alice's) */
  readonly users: UserAdmin;
  readonly proxy: Harness;
  readonly upstream: Upstream;
  readonly audit: IdentityAuditEvent[];
  /** trusts the stack's certificate; every host name resolves to 127.0.0.1 */
  readonly fetch: FetchLike;
  /** `url('app', '/x')` is `https://app.localhost:<port>/x` */
  url(host: 'auth' | 'app' | 'other', path: string): string;
  close(): Promise<void>;
}

/** The stack, with `alice@example.com` (group `engineering`, password PASSWORD) as its user. */
export async function startProxiedStack(): Promise<ProxiedStack> {
  const env: TempStore = await tempStore();
  const upstream = await startUpstream();
  const port = await freePort();
  const audit: IdentityAuditEvent[] = [];
  const tls = certificateFor(['auth.localhost', 'app.localhost', 'other.localhost']);
  const fetch = caFetch(tls.cert, { lookup: loopbackLookup });
  const { config } = loadConfigText(
    [
      `public_url: https://auth.localhost:${port}`,
      `data_dir: ${env.dataDir}`,
      'session: {ttl: 8h, idle: 1h, revalidate: 15m}',
      'policies:',
      '  engineering: {allow: [{groups: [engineering]}]}',
      'routes:',
      `  - {from: 'https://app.localhost:${port}', to: '${upstream.url}', policy: engineering}`,
      `  - {from: 'https://other.localhost:${port}', to: '${upstream.url}', policy: engineering}`,
      '',
    ].join('\n'),
    join(env.dir, 'ztgate.yaml'),
  );
  const identity = await createIdentity({
    config,
    store: env.store,
    box: SecretBox.random(),
    audit: (e) => void audit.push(e),
    fetch,
  });
  const users = new UserAdmin({ users: env.store.users });
  await users.add({
    email: 'alice@example.com',
    groups: ['engineering'],
    password: PASSWORD,
  });
  const { engine, problems } = buildEngine(config, () => undefined);
  assert.deepEqual(
    problems.filter((p) => p.severity === 'error'),
    [],
  );
  const proxy = await startProxy(engine, {
    publicUrl: `https://auth.localhost:${port}`,
    tls: { cert: tls.cert, key: tls.key },
    listen: { host: '127.0.0.1', port },
    identity: identityPort(identity),
    // identity's pages speak HTTP/1.1 (browsers: --disable-http2)
    publicHandler: (req, res) => {
      const r = res as ServerResponse;
      identity.handle(req as IncomingMessage, r).then(
        (handled) => {
          if (!handled) r.writeHead(404).end();
        },
        () => {
          if (!r.headersSent) r.writeHead(500);
          r.end();
        },
      );
    },
  });
  return {
    port,
    identity,
    users,
    proxy,
    upstream,
    audit,
    fetch,
    url: (host, path) => `https://${host}.localhost:${port}${path}`,
    close: async () => {
      await proxy.close();
      await upstream.close();
      await env.cleanup();
    },
  };
}
