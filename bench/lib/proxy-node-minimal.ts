/**
 * Reference (e) of the proxy benchmark: the least a Node.js reverse proxy can do with the same
 * listener as ztgate (HTTP/2 server with HTTP/1.1 fallback, TLS from the same certificate, the
 * same cluster of workers) and the same upstream pool (keep-alive http.Agent): no policy, no
 * identity, no logs, no audit. The floor of any proxy built on Node's HTTP stack on this machine.
 * Usage: `proxy-node-minimal.ts PORT WORKERS CERT KEY UPSTREAM_PORT`.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';

const [port, workers, cert, key, upstreamPort] = process.argv.slice(2);

if (cluster.isPrimary) {
  let ready = 0;
  const n = Number(workers);
  for (let i = 0; i < n; i++) {
    cluster.fork().on('message', () => {
      if (++ready === n) process.stdout.write('{"ready":true}\n');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' });
  const server = http2.createSecureServer(
    { allowHTTP1: true, cert: readFileSync(String(cert)), key: readFileSync(String(key)) },
    (req, res) => {
      const up = http.request(
        {
          agent,
          host: '127.0.0.1',
          port: Number(upstreamPort),
          method: req.method,
          path: req.url,
          headers: { host: `127.0.0.1:${upstreamPort}`, 'x-forwarded-for': '127.0.0.1' },
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end();
    },
  );
  server.listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
}
