/**
 * Proxy benchmark (`npm run bench:proxy`; `npm run -s bench:proxy -- --json` for one JSON line).
 *
 * In one run, with wrk on 127.0.0.1 and the same request (`GET /api/items/42` with
 * `Authorization: Bearer <ES256 JWT>`), against the same Node upstream:
 *   (a) direct: wrk -> the upstream (plain HTTP);
 *   (b) nginx `proxy_pass` (TLS, 2 workers, keep-alive to the upstream);
 *   (c) nginx `auth_request` to a JWT-verifying Node endpoint (2 cluster workers, an ES256
 *       verification per request: the classic oauth2-proxy setup), then `proxy_pass`;
 *   (d) ztgate (TLS, 2 cluster workers) enforcing a realistic policy with the identity resolved
 *       in memory by the static identity double, device facts, a signed assertion, identity
 *       headers, the access log and the SQLite audit log on.
 * Each at 64 connections (2 wrk threads) and at 1 connection, after a warm-up; requests/s, p50
 * and p99, and ratios to (a) and (b). Then ztgate's resident memory with 10,000 and 100,000
 * distinct identities resolved by one worker process.
 *
 * Everything (wrk, nginx, the upstream, ztgate) shares the machine's cores, as in CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parseBenchArgs } from './lib/args.js';
import { machineInfo } from './lib/machine.js';
import { atLeast, below, fmtNumber, Reporter, type Target } from './lib/report.js';
import { compileEntries } from './lib/compile.js';
import { treeCpuUs } from './lib/proc-cpu.js';
import { runWrk, type WrkResult } from './lib/wrk.js';
import { startRealServe } from './lib/proxy-serve.js';
import { freePort, startNginx, type Peer } from '../src/pep/testing/peers.js';
import { selfSignedLocalhost } from '../src/pep/testing/self-signed.js';

const args = parseBenchArgs(
  'bench:proxy',
  'ztgate proxy vs direct, nginx proxy_pass and nginx auth_request (wrk, 64 and 1 connections); RSS with 10k/100k identities.',
);
const r = new Reporter(args.json);
const PHASE_S = args.quick ? 2 : 8;
const WARM_S = args.quick ? 1 : 2;
const [SMALL, LARGE] = args.quick ? [2_000, 10_000] : [10_000, 100_000];
/** memory phases: identities resolved, and where the audit writer does its database work */
const RSS_RUNS: readonly { n: number; audit: 'worker' | 'inline' }[] = [
  { n: SMALL, audit: 'worker' },
  { n: SMALL, audit: 'inline' },
  { n: LARGE, audit: 'worker' },
];
const WORKERS = 2;
const PATH = '/api/items/42';
const root = join(import.meta.dirname, '..');

interface Child {
  readonly proc: ChildProcess;
  /** the next JSON line the child prints */
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
  stop(): Promise<void>;
}

/** Set by main(): where the compiled entries are (see ./lib/compile.ts); undefined: tsx. */
let compiled: string | undefined;

const ENTRIES: Readonly<Record<string, string>> = {
  'proxy-upstream': 'bench/lib/proxy-upstream.ts',
  'proxy-jwt-verifier': 'bench/lib/proxy-jwt-verifier.ts',
  'proxy-node-minimal': 'bench/lib/proxy-node-minimal.ts',
  'proxy-ztgate': 'bench/lib/proxy-ztgate.ts',
  'proxy-ztgate-worker': 'bench/lib/proxy-ztgate-worker.ts',
  'audit-worker': 'src/audit/audit-worker.ts',
};

function spawnTs(name: string, argv: string[], env: Record<string, string> = {}): Child {
  const file = ENTRIES[name] as string;
  const command =
    compiled !== undefined
      ? [join(compiled, `${name}.js`), ...argv]
      : ['--import', 'tsx', join(root, file), ...argv];
  const proc = spawn(process.execPath, command, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  createInterface({ input: proc.stdout }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const failures = new Set<(e: Error) => void>();
  const exited = new Promise<void>((res) =>
    proc.once('exit', (code) => {
      for (const f of failures) f(new Error(`${file} exited (${code}): ${stderr}`));
      res();
    }),
  );
  return {
    proc,
    next: () =>
      new Promise((resolve, reject) => {
        const take = (l: string) => resolve(JSON.parse(l) as Record<string, unknown>);
        const l = lines.shift();
        if (l !== undefined) return take(l);
        const t = setTimeout(() => reject(new Error(`${file} did not answer: ${stderr}`)), 120_000);
        failures.add(reject);
        waiters.push((x) => {
          clearTimeout(t);
          failures.delete(reject);
          take(x);
        });
      }),
    send: (line) => proc.stdin?.write(`${line}\n`),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

interface Phase extends WrkResult {
  /** CPU µs per request of the proxy's processes (all workers and threads), if any */
  readonly proxy_cpu_us: number | undefined;
  /** CPU µs per request of the upstream */
  readonly upstream_cpu_us: number | undefined;
}

interface Variant {
  readonly c64: Phase;
  readonly c1: Phase;
}

async function phase(
  url: string,
  headers: Record<string, string>,
  connections: number,
  pids: { proxy: readonly number[]; upstream: number },
): Promise<Phase> {
  const cpu = (list: readonly number[]) =>
    list.reduce<number | undefined>((sum, pid) => {
      const v = treeCpuUs(pid);
      return v === undefined || sum === undefined ? undefined : sum + v;
    }, 0);
  const p0 = cpu(pids.proxy);
  const u0 = cpu([pids.upstream]);
  const res = await runWrk({
    url,
    headers,
    connections,
    threads: connections > 1 ? 2 : 1,
    seconds: PHASE_S,
  });
  const p1 = cpu(pids.proxy);
  const u1 = cpu([pids.upstream]);
  const per = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || res.requests === 0
      ? undefined
      : Math.round((b - a) / res.requests);
  return {
    ...res,
    proxy_cpu_us: pids.proxy.length > 0 ? per(p0, p1) : undefined,
    upstream_cpu_us: per(u0, u1),
  };
}

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  pids: { proxy: readonly number[]; upstream: number },
): Promise<Variant> {
  r.line(`  ${name}: warming up, then ${PHASE_S}s at 64 connections and ${PHASE_S}s at 1`);
  await runWrk({ url, headers, connections: 64, threads: 2, seconds: WARM_S });
  const c64 = await phase(url, headers, 64, pids);
  const c1 = await phase(url, headers, 1, pids);
  for (const [label, res] of [
    ['64', c64],
    ['1', c1],
  ] as const) {
    if (res.errors > 0) {
      throw new Error(`${name} at ${label} connections: ${res.errors} errors or non-2xx responses`);
    }
  }
  return { c64, c1 };
}

/** An nginx `http {}` body: TLS on `port`, keep-alive pools to the upstream (and `extra`). */
function nginxTls(o: {
  port: number;
  cert: string;
  key: string;
  upstreamPort: number;
  locations: string;
  extraUpstreams?: string;
}): string {
  return `
  upstream app {
    server 127.0.0.1:${o.upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  ${o.extraUpstreams ?? ''}
  server {
    listen 127.0.0.1:${o.port} ssl;
    ssl_certificate ${o.cert};
    ssl_certificate_key ${o.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    ${o.locations}
  }`;
}

const PROXY_APP = `
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;`;

async function main(): Promise<void> {
  const machine = machineInfo();
  r.section('Proxy benchmark');
  r.line(
    `${machine.cpuModel}, nproc ${machine.nproc}, Node ${machine.node}, load ${machine.loadAverage.join(' ')}`,
  );
  compiled = await compileEntries(root, ENTRIES);
  r.line(
    compiled !== undefined
      ? 'servers compiled to JavaScript with esbuild (as production runs compiled output)'
      : 'esbuild not found: servers run through tsx (about 45 MiB more per process)',
  );
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-bench-proxy-'));
  const tls = selfSignedLocalhost();
  const children: Child[] = [];
  const peers: Peer[] = [];
  try {
    // The one bearer token of every request: an ES256 JWT, as oauth2-proxy would check.
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwt = await new SignJWT({ email: 'bench@example.com', groups: ['engineering'] })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://auth.localhost')
      .setSubject('bench-user')
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey);
    const headers = {
      Host: 'app.localhost',
      Authorization: `Bearer ${jwt}`,
      Accept: 'application/json',
    };

    const upPort = await freePort();
    const upstream = spawnTs('proxy-upstream', [String(upPort)]);
    children.push(upstream);
    await upstream.next();
    const verPort = await freePort();
    const verifier = spawnTs('proxy-jwt-verifier', [String(verPort), String(WORKERS)], {
      ZTGATE_BENCH_JWK: JSON.stringify(await exportJWK(publicKey)),
    });
    children.push(verifier);
    await verifier.next();

    r.section('Throughput and latency (wrk)');
    const upPid = upstream.proc.pid ?? 0;
    const direct = await measure('(a) direct', `http://127.0.0.1:${upPort}${PATH}`, headers, {
      proxy: [],
      upstream: upPid,
    });

    const tlsFiles = { cert: tls.certFile, key: tls.keyFile, upstreamPort: upPort };
    const nginx = await startNginx(
      (_d, port) => nginxTls({ ...tlsFiles, port, locations: `location / {${PROXY_APP}\n    }` }),
      { workers: WORKERS },
    );
    peers.push(nginx);
    const proxyPass = await measure(
      '(b) nginx proxy_pass',
      `https://127.0.0.1:${nginx.port}${PATH}`,
      headers,
      { proxy: [nginx.pid ?? 0], upstream: upPid },
    );
    await nginx.stop();

    const nginxAuth = await startNginx(
      (_d, port) =>
        nginxTls({
          ...tlsFiles,
          port,
          locations: `location = /_auth {
      internal;
      proxy_pass http://auth/verify;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
    location / {
      auth_request /_auth;
      auth_request_set $user $upstream_http_x_user;
      proxy_set_header X-User $user;${PROXY_APP}
    }`,
          extraUpstreams: `upstream auth {
    server 127.0.0.1:${verPort};
    keepalive 64;
    keepalive_requests 1000000;
  }`,
        }),
      { workers: WORKERS },
    );
    peers.push(nginxAuth);
    const authRequest = await measure(
      '(c) nginx auth_request + JWT verify',
      `https://127.0.0.1:${nginxAuth.port}${PATH}`,
      headers,
      { proxy: [nginxAuth.pid ?? 0, verifier.proc.pid ?? 0], upstream: upPid },
    );
    await nginxAuth.stop();

    const ztPort = await freePort();
    const common = [
      '--cert',
      tls.certFile,
      '--key',
      tls.keyFile,
      '--upstream',
      `http://127.0.0.1:${upPort}`,
      '--token',
      jwt,
    ];
    const zt = spawnTs('proxy-ztgate', [
      '--port',
      String(ztPort),
      '--workers',
      String(WORKERS),
      '--audit-dir',
      join(dir, 'audit-d'),
      ...common,
    ]);
    children.push(zt);
    await zt.next();
    const ztgate = await measure('(d) ztgate', `https://127.0.0.1:${ztPort}${PATH}`, headers, {
      proxy: [zt.proc.pid ?? 0],
      upstream: upPid,
    });
    // The audit log really was on: records were committed, and the backlog kept up.
    zt.send('stats');
    const ztStats = (await zt.next()) as {
      workers: { audit_committed: number; audit_backlog: number }[];
    };
    const auditCommitted = ztStats.workers.reduce((a, w) => a + w.audit_committed, 0);
    const auditBacklog = ztStats.workers.reduce((a, w) => a + w.audit_backlog, 0);
    if (auditCommitted === 0)
      throw new Error('ztgate wrote no audit records: the benchmark is void');
    r.line(
      `  ztgate audit log: ${fmtNumber(auditCommitted)} records committed, backlog ${auditBacklog}`,
    );
    await zt.stop();

    // References for what the ztgate figures are made of: ztgate without the audit log, and a
    // bare Node proxy on the same listener and pool.
    const ztOffPort = await freePort();
    const ztOff = spawnTs('proxy-ztgate', [
      '--port',
      String(ztOffPort),
      '--workers',
      String(WORKERS),
      '--audit',
      'off',
      '--audit-dir',
      join(dir, 'audit-off'),
      ...common,
    ]);
    children.push(ztOff);
    await ztOff.next();
    const ztgateNoAudit = await measure(
      '(d2) ztgate, audit log off',
      `https://127.0.0.1:${ztOffPort}${PATH}`,
      headers,
      { proxy: [ztOff.proc.pid ?? 0], upstream: upPid },
    );
    await ztOff.stop();
    const minPort = await freePort();
    const minimal = spawnTs('proxy-node-minimal', [
      String(minPort),
      String(WORKERS),
      tls.certFile,
      tls.keyFile,
      String(upPort),
    ]);
    children.push(minimal);
    await minimal.next();
    const bareNode = await measure(
      '(e) bare Node proxy (no policy, identity, logs)',
      `https://127.0.0.1:${minPort}${PATH}`,
      headers,
      { proxy: [minimal.proc.pid ?? 0], upstream: upPid },
    );
    await minimal.stop();

    // The product as users run it: `ztgate serve` from dist/, session cookie, every default on.
    const serve = await startRealServe({
      dir,
      port: await freePort(),
      upstreamPort: upPort,
      workers: WORKERS,
    });
    const realServe = await measure(
      '(f) ztgate serve (the real server: session cookie, 2 workers, SQLite)',
      `https://127.0.0.1:${serve.port}${PATH}`,
      { Host: 'app.localhost', Accept: 'application/json', Cookie: serve.cookie },
      { proxy: [serve.proc.pid ?? 0], upstream: upPid },
    );
    await serve.stop();

    r.section('ztgate memory: one worker process, N distinct identities resolved');
    const rss: Record<string, unknown>[] = [];
    for (const { n, audit } of RSS_RUNS) {
      const port = await freePort();
      const one = spawnTs('proxy-ztgate', [
        '--port',
        String(port),
        '--workers',
        '1',
        '--identities',
        String(n),
        '--audit',
        audit,
        '--audit-dir',
        join(dir, `audit-rss-${n}-${audit}`),
        ...common,
      ]);
      children.push(one);
      await one.next();
      one.send('stats');
      const idle = (await one.next()) as { workers: { rss_mib: number; heap_used_mib: number }[] };
      let resolved = 0;
      let rounds = 0;
      let issued = 0;
      let stats = idle as {
        workers: { rss_mib: number; heap_used_mib: number; identities_resolved: number }[];
      };
      const started = Date.now();
      while (resolved < n && rounds < 40) {
        rounds++;
        const run = await runWrk({
          url: `https://127.0.0.1:${port}${PATH}`,
          headers: { Host: 'app.localhost', Accept: 'application/json' },
          connections: 32,
          threads: 2,
          seconds: 3,
          counterStart: issued,
          requestLua: `  counter = counter + step
  return wrk.format("GET", "${PATH}", { ["Authorization"] = "Bearer t" .. (counter % ${n}) })`,
        });
        issued += run.requests;
        one.send('stats');
        stats = (await one.next()) as typeof stats;
        resolved = stats.workers[0]?.identities_resolved ?? 0;
      }
      const w = stats.workers[0];
      const row = {
        identities: n,
        audit,
        primary_rss_mib: (stats as { primary?: { rss_mib: number } }).primary?.rss_mib,
        resolved,
        rss_mib: w?.rss_mib,
        heap_used_mib: w?.heap_used_mib,
        idle_rss_mib: idle.workers[0]?.rss_mib,
        idle_heap_used_mib: idle.workers[0]?.heap_used_mib,
        seconds_to_resolve: Math.round((Date.now() - started) / 100) / 10,
      };
      rss.push(row);
      r.line(
        `  ${fmtNumber(n)} identities (${fmtNumber(resolved)} resolved), audit ${audit}: ` +
          `worker RSS ${row.rss_mib} MiB (idle ${row.idle_rss_mib} MiB), live heap ` +
          `${row.heap_used_mib} MiB; cluster primary ${row.primary_rss_mib} MiB`,
      );
      await one.stop();
    }

    // Report
    const variants = {
      direct,
      nginx_proxy_pass: proxyPass,
      nginx_auth_request: authRequest,
      ztgate,
      ztgate_audit_off: ztgateNoAudit,
      bare_node_proxy: bareNode,
      ztgate_serve: realServe,
    };
    const rows = Object.entries(variants).map(([name, v]) => [
      name,
      fmtNumber(v.c64.rps),
      fmtNumber(v.c64.p50_us),
      fmtNumber(v.c64.p99_us),
      fmtNumber(v.c1.rps),
      fmtNumber(v.c1.p50_us),
      fmtNumber(v.c1.p99_us),
      (v.c64.rps / direct.c64.rps).toFixed(2),
      (v.c64.rps / proxyPass.c64.rps).toFixed(2),
      v.c64.proxy_cpu_us === undefined ? '-' : fmtNumber(v.c64.proxy_cpu_us),
      v.c64.upstream_cpu_us === undefined ? '-' : fmtNumber(v.c64.upstream_cpu_us),
    ]);
    r.section('Results');
    r.table(
      [
        'variant',
        'req/s @64',
        'p50 µs',
        'p99 µs',
        'req/s @1',
        'p50 µs',
        'p99 µs',
        'x (a)',
        'x (b)',
        'proxy CPU µs/req',
        'upstream CPU µs/req',
      ],
      rows,
    );
    const addedP50 = ztgate.c1.p50_us - direct.c1.p50_us;
    const addedP99 = ztgate.c1.p99_us - direct.c1.p99_us;
    const rss10k = (rss[0] as { rss_mib?: number } | undefined)?.rss_mib ?? NaN;
    const rss10kInline = (rss[1] as { rss_mib?: number } | undefined)?.rss_mib ?? NaN;
    const targets: Target[] = [
      atLeast(
        'ztgate req/s vs nginx proxy_pass (64 conns)',
        ztgate.c64.rps / proxyPass.c64.rps,
        0.5,
        'x',
        2,
      ),
      atLeast(
        'ztgate req/s vs nginx auth_request (64 conns)',
        ztgate.c64.rps / authRequest.c64.rps,
        2,
        'x',
        2,
      ),
      below('added latency over direct, p50 at 1 conn', addedP50, 250, 'µs', 0),
      below('added latency over direct, p99 at 1 conn', addedP99, 1500, 'µs', 0),
      below(
        `RSS of one worker, ${fmtNumber(SMALL)} identities (audit thread)`,
        rss10k,
        150,
        'MiB',
        1,
      ),
      below(
        `RSS of one worker, ${fmtNumber(SMALL)} identities (audit inline)`,
        rss10kInline,
        150,
        'MiB',
        1,
      ),
    ];
    r.section('Targets');
    r.targets(targets);
    r.summary({
      bench: 'proxy',
      quick: args.quick,
      compiled: compiled !== undefined,
      phase_s: PHASE_S,
      workers: WORKERS,
      machine,
      variants: Object.fromEntries(
        Object.entries(variants).map(([k, v]) => [
          k,
          {
            c64: {
              rps: Math.round(v.c64.rps),
              p50_us: v.c64.p50_us,
              p99_us: v.c64.p99_us,
              proxy_cpu_us_per_req: v.c64.proxy_cpu_us,
              upstream_cpu_us_per_req: v.c64.upstream_cpu_us,
            },
            c1: { rps: Math.round(v.c1.rps), p50_us: v.c1.p50_us, p99_us: v.c1.p99_us },
          },
        ]),
      ),
      ratios: {
        ztgate_vs_direct_rps_c64: Number((ztgate.c64.rps / direct.c64.rps).toFixed(3)),
        ztgate_vs_nginx_proxy_pass_rps_c64: Number((ztgate.c64.rps / proxyPass.c64.rps).toFixed(3)),
        ztgate_vs_nginx_auth_request_rps_c64: Number(
          (ztgate.c64.rps / authRequest.c64.rps).toFixed(3),
        ),
        ztgate_vs_direct_rps_c1: Number((ztgate.c1.rps / direct.c1.rps).toFixed(3)),
        ztgate_vs_nginx_proxy_pass_rps_c1: Number((ztgate.c1.rps / proxyPass.c1.rps).toFixed(3)),
        ztgate_vs_bare_node_rps_c64: Number((ztgate.c64.rps / bareNode.c64.rps).toFixed(3)),
        ztgate_serve_vs_nginx_proxy_pass_rps_c64: Number(
          (realServe.c64.rps / proxyPass.c64.rps).toFixed(3),
        ),
        ztgate_serve_vs_nginx_auth_request_rps_c64: Number(
          (realServe.c64.rps / authRequest.c64.rps).toFixed(3),
        ),
        ztgate_audit_off_vs_nginx_proxy_pass_rps_c64: Number(
          (ztgateNoAudit.c64.rps / proxyPass.c64.rps).toFixed(3),
        ),
        added_p50_us_c1: addedP50,
        added_p99_us_c1: addedP99,
      },
      ztgate_audit: { committed: auditCommitted, backlog_at_end: auditBacklog },
      rss,
      targets: targets.map((t) => ({
        name: t.name,
        goal: t.goal,
        measured: t.measured,
        met: t.met,
      })),
    });
    if (args.checkTargets && targets.some((t) => !t.met)) process.exitCode = 1;
  } finally {
    for (const p of peers) await p.stop();
    for (const c of children) await c.stop();
    tls.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
