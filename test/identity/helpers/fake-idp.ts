/**
 * A hostile or broken OpenID Provider: it follows the protocol far enough for the relying party to
 * reach the ID token, then returns whatever ID token the test makes (wrong audience, wrong issuer,
 * expired, `alg: none`, HMAC signed with its public key, replayed nonce...).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { startServer, type TestServer } from './servers.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface TokenContext {
  readonly issuer: string;
  readonly clientId: string;
  readonly nonce: string;
  readonly publicJwk: JWK;
  readonly privateKey: PrivateKey;
}

export interface FakeIdp {
  readonly issuer: string;
  readonly server: TestServer;
  /** makes the ID token the token endpoint returns */
  idToken: (ctx: TokenContext) => Promise<string>;
  readonly publicJwk: JWK;
  readonly privateKey: PrivateKey;
  close(): Promise<void>;
}

export async function startFakeIdp(clientId: string): Promise<FakeIdp> {
  const server = await startServer();
  const issuer = server.origin;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'fake-1', alg: 'RS256', use: 'sig' };
  let lastNonce = '';
  const fake: FakeIdp = {
    issuer,
    server,
    publicJwk,
    privateKey,
    idToken: () => Promise.reject(new Error('set idToken')),
    close: () => server.close(),
  };
  const json = (res: ServerResponse, body: unknown) => {
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify(body));
  };
  server.setHandler(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        return json(res, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      case '/jwks':
        return json(res, { keys: [publicJwk] });
      case '/authorize': {
        lastNonce = url.searchParams.get('nonce') ?? '';
        const back = new URL(url.searchParams.get('redirect_uri') ?? '');
        back.searchParams.set('code', 'fake-code');
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      case '/token': {
        for await (const _ of req) void _;
        return json(res, {
          access_token: 'fake-access-token',
          token_type: 'Bearer',
          expires_in: 300,
          id_token: await fake.idToken({
            issuer,
            clientId,
            nonce: lastNonce,
            publicJwk,
            privateKey,
          }),
        });
      }
      default:
        res.writeHead(404).end();
    }
  });
  return fake;
}
