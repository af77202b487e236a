/**
 * The upstream of the proxy benchmark: a plain Node HTTP server answering every request with the
 * same small JSON body. One process, shared by every variant. Usage: `proxy-upstream.ts PORT`.
 */
import http from 'node:http';

const port = Number(process.argv[2]);
const body = Buffer.from(
  `${JSON.stringify({ id: 42, name: 'item 42', owner: 'engineering', tags: ['a', 'b'], ok: true })}\n`,
);
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('{"ready":true}\n'));
process.on('SIGTERM', () => process.exit(0));
