/**
 * PKI benchmark (`npm run bench:pki`; `npm run -s bench:pki -- --json` prints one JSON line).
 *
 * In one run, on the same machine:
 * - reference: `openssl speed -seconds 3 ecdsap256`, the raw P-256 sign and verify rates of one core;
 * - issuance: SPIFFE X.509-SVIDs issued from CSRs (P-256) one after another on one thread (parse and
 *   verify the CSR, check the SPIFFE ID and the policy, encode, sign, record in the store), with
 *   the real SQLite store and with an in-memory one; each issuance costs one ECDSA verify and one
 *   sign, so the raw ceiling is about 1 / (1/sign + 1/verify) per second;
 * - TLS: full handshakes per second (no session resumption) against a local https server in its
 *   own process, with a client certificate checked by the PKI guard (path validation, revocation
 *   set), then one request; and the same server without client certificates as the reference.
 *
 * Every phase stops by itself (3 s each, 1 s with --quick); temporary files are removed.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseBenchArgs } from './lib/args.js';
import { machineInfo } from './lib/machine.js';
import { atLeast, fmtNumber, Reporter } from './lib/report.js';
import { distribution, median } from './lib/stats.js';
import {
  createCsr,
  generateP256,
  initCa,
  IssuancePolicy,
  Pki,
  type IssueRequest,
} from '../src/pki/index.js';
import { MemoryCertificateStore } from '../src/pki/memory-store.js';
import { openStore } from '../src/store/open.js';
import { buildEngine } from '../src/pdp/index.js';
import { AssertionSigner } from '../src/pep/assertion/assertion.js';
import { KeyRing, MemoryKeyRingStorage } from '../src/pep/assertion/key-ring.js';
import type { ProxyRoute } from '../src/pep/options.js';
import { createProxy } from '../src/pep/proxy.js';
import { MemoryAuditDouble } from '../src/pep/testing/memory-audit.js';
import { StaticIdentityDouble } from '../src/pep/testing/static-identity.js';

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// the server child: `tsx bench/pki.ts --serve <dataDir>`

async function serve(dataDir: string): Promise<void> {
  const pki = await Pki.open({ dataDir, store: new MemoryCertificateStore() });
  const { privateKey, publicKey } = generateP256();
  const cert = await pki.issue(
    {
      type: 'server',
      csr: await createCsr(privateKey, publicKey),
      dns: ['localhost'],
      ips: ['127.0.0.1'],
    },
    { requester: 'operator', policy: IssuancePolicy.unrestricted() },
  );
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  let refused = 0;
  const guard = pki.guard({ onRefused: () => refused++ });
  const mtls = createHttpsServer(
    {
      key,
      cert: cert.chainPem,
      ca: [pki.ca.rootPem],
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      res.end(
        guard.identity(req.socket as Parameters<typeof guard.identity>[0]) ? 'ok' : 'no identity',
      );
    },
  );
  guard.attach(mtls);
  const plain = createHttpsServer({ key, cert: cert.chainPem }, (_req, res) => res.end('ok'));
  const opensslOnly = createHttpsServer(
    { key, cert: cert.chainPem, ca: [pki.ca.rootPem], requestCert: true, rejectUnauthorized: true },
    (_req, res) => res.end('ok'),
  );
  for (const s of [mtls, plain, opensslOnly]) {
    s.keepAliveTimeout = 0;
    s.listen(0, '127.0.0.1', 1024);
    await once(s, 'listening');
  }
  // The proxy's own listener (HTTP/2 + HTTP/1.1 via ALPN, the guard attached as `ztgate serve`
  // attaches it): the answer comes from the public-host handler, after the proxy's request checks.
  const keys = new KeyRing(new MemoryKeyRingStorage(), {
    rotateAfterMs: 86_400_000,
    maxTokenTtlMs: 300_000,
  });
  await keys.refresh(Date.now());
  const proxy = createProxy({
    engine: buildEngine<ProxyRoute>({ policies: {}, routes: [] }, () => undefined).engine,
    publicUrl: 'https://localhost',
    tls: { cert: cert.chainPem, key, clientCa: pki.ca.rootPem },
    listen: { host: '127.0.0.1', port: 0 },
    identity: new StaticIdentityDouble('https://localhost'),
    audit: new MemoryAuditDouble(),
    assertions: new AssertionSigner(keys, 'https://localhost'),
    accessLog: () => undefined,
    publicHandler: (req, res) =>
      res.end(
        guard.identity(req.socket as Parameters<typeof guard.identity>[0]) ? 'ok' : 'no identity',
      ),
  });
  guard.attach(proxy.server);
  const { port: proxyPort } = await proxy.listen();
  process.stdout.write(
    `${JSON.stringify({
      mtls: (mtls.address() as AddressInfo).port,
      plain: (plain.address() as AddressInfo).port,
      opensslOnly: (opensslOnly.address() as AddressInfo).port,
      proxy: proxyPort,
    })}\n`,
  );
  // `cpu` on stdin: the CPU time this process has used so far (µs), one JSON line on stdout
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    for (const _ of d.split('\n').filter((l) => l === 'cpu')) {
      const u = process.cpuUsage();
      process.stdout.write(`${JSON.stringify({ cpu_us: u.user + u.system })}\n`);
    }
  });
  process.stdin.on('end', () => {
    if (refused > 0) process.stderr.write(`the guard refused ${refused} connections\n`);
    process.exit(0);
  });
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] as string);
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// the benchmark

async function opensslSpeed(seconds: number): Promise<{ sign: number; verify: number }> {
  const { stdout } = await promisify(execFile)(
    'openssl',
    ['speed', '-seconds', String(seconds), 'ecdsap256'],
    {
      maxBuffer: 1 << 20,
    },
  );
  const line = stdout.split('\n').find((l) => /nistp256/.test(l));
  const nums = line?.trim().split(/\s+/).slice(-2).map(Number) ?? [];
  const [sign, verify] = nums;
  if (!sign || !verify)
    throw new Error(`cannot read \`openssl speed\` output: ${line ?? stdout.slice(-200)}`);
  return { sign, verify };
}

async function issuanceRate(
  pki: Pki,
  csrs: readonly string[],
  ms: number,
): Promise<{
  perSecond: number;
  meanPerSecond: number;
  count: number;
  p50us: number;
  p99us: number;
}> {
  const auth = {
    requester: 'bench',
    policy: IssuancePolicy.parse(
      'requesters: [{name: bench, types: [svid], spiffe_ids: ["spiffe://bench.example/ns"]}]',
    ),
  };
  const request = (i: number): IssueRequest => ({
    type: 'svid',
    csr: csrs[i % csrs.length] as string,
    spiffeId: `spiffe://bench.example/ns/n${i % 50}/sa/w${i}`,
  });
  // warm-up
  const warm = performance.now();
  for (let i = 0; performance.now() - warm < Math.min(500, ms / 3); i++)
    await pki.issue(request(i), auth);
  // The phase is cut into 5 rounds and the median round's rate reported (as bench/lib/timing does):
  // a burst of other work on the machine, or a WAL checkpoint, moves it less than the mean.
  const samples = new Float64Array(2_000_000);
  const rounds: number[] = [];
  let n = 0;
  const start = performance.now();
  let now = start;
  for (let r = 0; r < 5; r++) {
    const roundStart = now;
    const first = n;
    while (now - roundStart < ms / 5) {
      const t0 = now;
      await pki.issue(request(n), auth);
      now = performance.now();
      samples[n++] = (now - t0) * 1e6;
    }
    rounds.push((n - first) / ((now - roundStart) / 1000));
  }
  const d = distribution(samples.subarray(0, n));
  return {
    perSecond: median(rounds),
    meanPerSecond: n / ((now - start) / 1000),
    count: n,
    p50us: d.p50 / 1000,
    p99us: d.p99 / 1000,
  };
}

async function handshakeRate(
  port: number,
  ms: number,
  client: { key: string; cert: string } | undefined,
  ca: string,
  concurrency: number,
): Promise<{ perSecond: number; count: number; errors: number }> {
  let count = 0;
  let errors = 0;
  // One context for every connection (as a real client keeps one): building it is not the handshake.
  const context = createSecureContext({ ca, ...(client ?? {}) });
  const deadline = performance.now() + ms;
  const one = () =>
    new Promise<void>((resolve) => {
      const tcp = netConnect({ host: '127.0.0.1', port, noDelay: true });
      const socket = connect({ socket: tcp, servername: 'localhost', secureContext: context });
      let body = '';
      socket.setEncoding('utf8');
      socket.on('secureConnect', () =>
        socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
      );
      socket.on('data', (d: string) => (body += d));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (/\r\n\r\nok$/.test(body)) count++;
        else errors++;
        resolve();
      });
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  return { perSecond: count / ((performance.now() - start) / 1000), count, errors };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(
    'bench:pki',
    'Certificates issued per second from CSRs (P-256 SVIDs, one thread) and TLS handshakes per second with client certificates, against `openssl speed ecdsap256`.',
  );
  const out = new Reporter(args.json);
  const phaseMs = args.quick ? 1000 : 3000;
  const machine = machineInfo();
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-bench-pki-'));
  try {
    out.section('machine');
    out.line(
      `  ${machine.cpuModel}, ${machine.nproc} CPUs, Node ${machine.node}, load ${machine.loadAverage.join(' ')}`,
    );

    out.section(`reference: openssl speed -seconds ${args.quick ? 1 : 3} ecdsap256`);
    const speed = await opensslSpeed(args.quick ? 1 : 3);
    const ceiling = 1 / (1 / speed.sign + 1 / speed.verify);
    out.line(
      `  sign ${fmtNumber(speed.sign)}/s, verify ${fmtNumber(speed.verify)}/s (one verify + one sign: ${fmtNumber(ceiling)}/s)`,
    );

    // the CA, on the real SQLite store
    const dataDir = join(dir, 'data');
    const store = await openStore({ kind: 'sqlite', dataDir });
    await initCa({ dataDir, trustDomain: 'bench.example', store: store.certificates });
    const pki = await Pki.open({ dataDir, store: store.certificates });
    const memPki = await Pki.open({ dataDir, store: new MemoryCertificateStore() });
    const csrs: string[] = [];
    for (let i = 0; i < 200; i++) {
      const k = generateP256();
      csrs.push(await createCsr(k.privateKey, k.publicKey));
    }

    out.section('issuance: P-256 SVIDs from CSRs, one at a time');
    const sqlite = await issuanceRate(pki, csrs, phaseMs);
    const memory = await issuanceRate(memPki, csrs, phaseMs);
    out.table(
      ['store', 'SVIDs/s (median round)', 'mean', 'p50 µs', 'p99 µs', 'of openssl ceiling'],
      [
        [
          'sqlite',
          fmtNumber(sqlite.perSecond),
          fmtNumber(sqlite.meanPerSecond),
          sqlite.p50us.toFixed(0),
          sqlite.p99us.toFixed(0),
          `${((100 * sqlite.perSecond) / ceiling).toFixed(0)} %`,
        ],
        [
          'memory',
          fmtNumber(memory.perSecond),
          fmtNumber(memory.meanPerSecond),
          memory.p50us.toFixed(0),
          memory.p99us.toFixed(0),
          `${((100 * memory.perSecond) / ceiling).toFixed(0)} %`,
        ],
      ],
    );
    pki.close();
    await store.close();

    out.section('TLS: full handshakes + one request, server in its own process');
    const clientKey = generateP256();
    const clientCert = await memPki.issue(
      {
        type: 'device',
        csr: await createCsr(clientKey.privateKey, clientKey.publicKey),
        deviceId: 'bench-laptop',
        userId: 'bench',
      },
      { requester: 'operator', policy: IssuancePolicy.unrestricted() },
    );
    memPki.close();
    const child = spawn(process.execPath, [...process.execArgv, SELF, '--serve', dataDir], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    const waiting: ((l: string) => void)[] = [];
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const l = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        const w = waiting.shift();
        if (w) w(l);
        else lines.push(l);
      }
    });
    const nextLine = (): Promise<string> => {
      const l = lines.shift();
      return l !== undefined ? Promise.resolve(l) : new Promise((r) => waiting.push(r));
    };
    const serverCpu = async (): Promise<number> => {
      child.stdin.write('cpu\n');
      return (JSON.parse(await nextLine()) as { cpu_us: number }).cpu_us;
    };
    const ports = JSON.parse(await nextLine()) as {
      mtls: number;
      plain: number;
      opensslOnly: number;
      proxy: number;
    };
    const rootPem = memPki.ca.rootPem;
    const concurrency = 8;
    const client = {
      key: clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      cert: clientCert.chainPem,
    };
    await handshakeRate(ports.mtls, 300, client, rootPem, concurrency); // warm-up
    let cpu0 = await serverCpu();
    const mtls = await handshakeRate(ports.mtls, phaseMs, client, rootPem, concurrency);
    let cpu1 = await serverCpu();
    const mtlsServerUs = (cpu1 - cpu0) / Math.max(1, mtls.count);
    cpu0 = cpu1;
    const plain = await handshakeRate(ports.plain, phaseMs, undefined, rootPem, concurrency);
    cpu1 = await serverCpu();
    const plainServerUs = (cpu1 - cpu0) / Math.max(1, plain.count);
    cpu0 = cpu1;
    const osl = await handshakeRate(ports.opensslOnly, phaseMs, client, rootPem, concurrency);
    cpu1 = await serverCpu();
    const oslServerUs = (cpu1 - cpu0) / Math.max(1, osl.count);
    cpu0 = cpu1;
    const viaProxy = await handshakeRate(ports.proxy, phaseMs, client, rootPem, concurrency);
    cpu1 = await serverCpu();
    const proxyServerUs = (cpu1 - cpu0) / Math.max(1, viaProxy.count);
    child.stdin.end();
    await once(child, 'exit');
    out.table(
      ['server', 'handshakes/s', 'errors', 'server CPU µs each', 'openssl signs in that CPU time'],
      [
        [
          'client certificate + guard',
          fmtNumber(mtls.perSecond),
          String(mtls.errors),
          mtlsServerUs.toFixed(0),
          ((mtlsServerUs * speed.sign) / 1e6).toFixed(1),
        ],
        [
          'the proxy listener (createProxy): client certificate + guard',
          fmtNumber(viaProxy.perSecond),
          String(viaProxy.errors),
          proxyServerUs.toFixed(0),
          ((proxyServerUs * speed.sign) / 1e6).toFixed(1),
        ],
        [
          'client certificate, OpenSSL check only',
          fmtNumber(osl.perSecond),
          String(osl.errors),
          oslServerUs.toFixed(0),
          ((oslServerUs * speed.sign) / 1e6).toFixed(1),
        ],
        [
          'no client certificate',
          fmtNumber(plain.perSecond),
          String(plain.errors),
          plainServerUs.toFixed(0),
          ((plainServerUs * speed.sign) / 1e6).toFixed(1),
        ],
      ],
    );

    const targets = [
      atLeast(
        'P-256 SVIDs issued per second (SQLite store, one thread)',
        sqlite.perSecond,
        1000,
        'certificates/s',
      ),
    ];
    out.section('targets');
    out.targets(targets);
    out.summary({
      bench: 'pki',
      machine,
      phase_ms: phaseMs,
      openssl: {
        sign_per_s: speed.sign,
        verify_per_s: speed.verify,
        verify_plus_sign_per_s: Math.round(ceiling),
      },
      issuance: {
        svid_per_s_sqlite: Math.round(sqlite.perSecond),
        svid_per_s_memory: Math.round(memory.perSecond),
        svid_per_s_sqlite_mean: Math.round(sqlite.meanPerSecond),
        svid_per_s_memory_mean: Math.round(memory.meanPerSecond),
        p50_us_sqlite: Math.round(sqlite.p50us),
        p99_us_sqlite: Math.round(sqlite.p99us),
        fraction_of_openssl_ceiling: Number((sqlite.perSecond / ceiling).toFixed(3)),
      },
      tls: {
        concurrency,
        mtls_handshakes_per_s: Math.round(mtls.perSecond),
        proxy_listener_mtls_handshakes_per_s: Math.round(viaProxy.perSecond),
        proxy_listener_server_cpu_us_per_handshake: Math.round(proxyServerUs),
        plain_handshakes_per_s: Math.round(plain.perSecond),
        openssl_only_handshakes_per_s: Math.round(osl.perSecond),
        openssl_only_server_cpu_us_per_handshake: Math.round(oslServerUs),
        mtls_server_cpu_us_per_handshake: Math.round(mtlsServerUs),
        plain_server_cpu_us_per_handshake: Math.round(plainServerUs),
        mtls_server_handshakes_per_cpu_s: Math.round(1e6 / mtlsServerUs),
        mtls_errors: mtls.errors,
        plain_errors: plain.errors,
        mtls_per_openssl_sign: Number((mtls.perSecond / speed.sign).toFixed(4)),
      },
      targets: targets.map((t) => ({
        name: t.name,
        goal: t.goal,
        value: Math.round(t.value),
        met: t.met,
      })),
    });
    if (args.checkTargets && targets.some((t) => !t.met)) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
