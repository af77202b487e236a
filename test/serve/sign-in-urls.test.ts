/**
 * The composition root's half of the sign-in nonce (login CSRF, docs/identity.md): the proxy's
 * identity port turns the nonce the proxy set on a route host into a commitment in the sign-in and
 * step-up URLs (never the nonce itself), and `/oauth2/step_up` on the public host carries that
 * commitment on, into a step-up or, without a session, into a full sign-in.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { serverIdentityPort } from '../../src/cli/serve/identity-port.js';
import { publicRoutes } from '../../src/cli/serve/public-routes.js';
import type { DeviceEndpoints } from '../../src/device/http/endpoints.js';
import type { Identity } from '../../src/identity/identity.js';
import {
  createAuthHandler,
  type HandoffBinding,
  type StepUpRequirement,
} from '../../src/identity/rp/auth-handler.js';
import type { RelyingParty } from '../../src/identity/rp/relying-party.js';
import type { SessionManager } from '../../src/identity/session/session-manager.js';
import type { UserStore } from '../../src/store/store.js';

const PUBLIC = 'https://auth.example.com';
const NONCE = 'n'.repeat(43);
const COMMITMENT = createHash('sha256').update(NONCE).digest('base64url');
const APP = 'https://app.example.com/x?y=1';

/** The real sign-in URLs (only `signInUrl` of the auth handler is used: no IdP behind it). */
function identityStub(
  session: boolean,
  stepUps: { target: string; binding: HandoffBinding | undefined }[],
): Identity {
  const auth = createAuthHandler({
    rp: {} as RelyingParty,
    kind: 'builtin',
    sessions: {} as SessionManager,
    users: {} as UserStore,
    publicUrl: PUBLIC,
    returnUrls: { publicUrl: PUBLIC, allowedHosts: ['app.example.com'] },
  });
  return {
    auth: {
      ...auth,
      stepUpRedirect: (
        _req: IncomingMessage,
        _s: unknown,
        _r: StepUpRequirement,
        target: string,
        binding?: HandoffBinding,
      ) => {
        stepUps.push({ target, binding });
        return Promise.resolve({ location: `${PUBLIC}/idp`, setCookies: [] });
      },
    },
    sessions: {
      lookup: () =>
        Promise.resolve(session ? { ok: true, session: {} } : { ok: false, reason: 'missing' }),
    },
    handle: () => Promise.resolve(false),
  } as unknown as Identity;
}

describe('serve: sign-in URLs bound to the route host’s nonce', () => {
  it('the identity port puts the commitment, never the nonce, in sign-in and step-up URLs', () => {
    const port = serverIdentityPort(identityStub(false, []), { publicUrl: PUBLIC });
    const login = new URL(port.loginUrl(APP, { nonce: NONCE }));
    assert.equal(`${login.origin}${login.pathname}`, `${PUBLIC}/oauth2/sign_in`);
    assert.equal(login.searchParams.get('return_to'), APP);
    assert.equal(login.searchParams.get('handoff'), COMMITMENT);
    const stepUp = new URL(port.stepUpUrl(APP, { max_age: 300 }, { nonce: NONCE }));
    assert.equal(stepUp.pathname, '/oauth2/step_up');
    assert.equal(stepUp.searchParams.get('max_age'), '300');
    assert.equal(stepUp.searchParams.get('handoff'), COMMITMENT);
    for (const url of [login.href, stepUp.href]) assert.ok(!url.includes(NONCE));
    // without a nonce (API clients, forward auth): unbound
    assert.equal(new URL(port.loginUrl(APP)).searchParams.get('handoff'), null);
    assert.equal(new URL(port.stepUpUrl(APP, {})).searchParams.get('handoff'), null);
  });

  for (const session of [false, true]) {
    it(`/oauth2/step_up carries the commitment on (${session ? 'a step-up' : 'no session: a sign-in'})`, async () => {
      const stepUps: { target: string; binding: HandoffBinding | undefined }[] = [];
      const handler = publicRoutes({
        identity: identityStub(session, stepUps),
        devices: {} as DeviceEndpoints,
        crl: () => undefined,
        bundle: () => undefined,
        apps: () => [],
        onError: (err) => assert.fail(String(err)),
      });
      const location = await new Promise<string>((resolve) => {
        const req = {
          url: `/oauth2/step_up?return_to=${encodeURIComponent(APP)}&max_age=60&handoff=${COMMITMENT}`,
          method: 'GET',
          headers: {},
          socket: { authorized: false } as TLSSocket,
        } as unknown as IncomingMessage;
        const res = {
          headersSent: false,
          writeHead: (_status: number, headers: Record<string, string>) => {
            resolve(headers.location ?? '');
            return res;
          },
          end: () => undefined,
        } as unknown as ServerResponse;
        handler(req, res);
      });
      if (session) {
        assert.equal(location, `${PUBLIC}/idp`);
        assert.deepEqual(stepUps, [{ target: APP, binding: { handoff: COMMITMENT } }]);
      } else {
        const u = new URL(location);
        assert.equal(u.pathname, '/oauth2/sign_in');
        assert.equal(u.searchParams.get('return_to'), APP);
        assert.equal(u.searchParams.get('handoff'), COMMITMENT);
      }
    });
  }
});
