/**
 * Variant (c) of the proxy benchmark: the endpoint nginx's `auth_request` calls, as oauth2-proxy
 * would be set up: it verifies the ES256 JWT of `Authorization: Bearer` on every request (no
 * cache) and answers 202 with the user, or 401. Runs `WORKERS` cluster workers.
 * Usage: `proxy-jwt-verifier.ts PORT WORKERS` with the public JWK in `ZTGATE_BENCH_JWK`.
 */
import cluster from 'node:cluster';
import http from 'node:http';
import { importJWK, jwtVerify, type JWK } from 'jose';

const port = Number(process.argv[2]);
const workers = Number(process.argv[3] ?? 2);

if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', () => {
      if (++ready === workers) process.stdout.write('{"ready":true}\n');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const key = await importJWK(JSON.parse(process.env.ZTGATE_BENCH_JWK ?? '{}') as JWK, 'ES256');
  const server = http.createServer((req, res) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m?.[1]) {
      res.writeHead(401).end();
      return;
    }
    jwtVerify(m[1], key, { algorithms: ['ES256'], issuer: 'https://auth.localhost' }).then(
      ({ payload }) => {
        res.writeHead(202, { 'x-user': String(payload.sub) }).end();
      },
      () => res.writeHead(401).end(),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => process.send?.('ready'));
}
