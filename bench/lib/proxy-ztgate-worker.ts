/** One worker of ./proxy-ztgate.ts (see there): builds the proxy and serves until SIGTERM. */
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditWriter } from '../../src/audit/writer.js';
import { WorkerAuditTarget } from '../../src/audit/worker-target.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { buildEngine } from '../../src/pdp/index.js';
import { AssertionSigner } from '../../src/pep/assertion/assertion.js';
import { KeyRing, MemoryKeyRingStorage } from '../../src/pep/assertion/key-ring.js';
import { auditWriterPort } from '../../src/pep/audit-port.js';
import { lineBuffer } from '../../src/pep/observe/line-buffer.js';
import type { IdentityPort } from '../../src/pep/ports.js';
import { createProxy } from '../../src/pep/proxy.js';
import { MemoryDevicesDouble } from '../../src/pep/testing/memory-devices.js';
import { StaticIdentityDouble, testIdentity } from '../../src/pep/testing/static-identity.js';
import { openStore } from '../../src/store/open.js';
import { fullGc } from './heap.js';
import { BENCH_POLICY } from './proxy-fixtures.js';

export interface WorkerStats {
  pid: number;
  rss_mib: number;
  heap_used_mib: number;
  heap_total_mib: number;
  external_mib: number;
  identities_resolved: number;
  /** audit records appended and not yet written */
  audit_backlog: number;
  audit_committed: number;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    workers: { type: 'string', default: '2' },
    identities: { type: 'string', default: '0' },
    cert: { type: 'string' },
    key: { type: 'string' },
    upstream: { type: 'string' },
    token: { type: 'string' },
    'audit-dir': { type: 'string' },
    audit: { type: 'string', default: 'worker' },
    'audit-window-ms': { type: 'string', default: '100' },
  },
});

const mib = (b: number) => Number((b / 2 ** 20).toFixed(1));
const workerId = Number(process.env.ZTGATE_BENCH_WORKER ?? 0);
const PUBLIC_URL = 'https://auth.localhost';
const config = ConfigSchema.parse({
  routes: [
    {
      from: 'https://app.localhost',
      to: values.upstream,
      policy: 'engineering',
      identity_headers: true,
    },
  ],
  policies: { engineering: BENCH_POLICY },
});
const { engine } = buildEngine(config, () => undefined);
const now = Date.now();
const identity = new StaticIdentityDouble(PUBLIC_URL);
const devices = new MemoryDevicesDouble();
const posture = { disk_encrypted: true, firewall: true, os_patch_age_days: 3 };
identity.set(
  String(values.token),
  testIdentity('bench-user', {
    groups: ['engineering', 'staff'],
    mfaMethods: ['totp'],
    mfaAt: now - 10 * 60_000,
    deviceId: 'dev-main',
    sessionId: 's-main',
  }),
);
devices.set({ id: 'dev-main', managed: true, tier: 'high', posture });
const count = Number(values.identities);
for (let i = 0; i < count; i++) {
  identity.set(
    `t${i}`,
    testIdentity(`u${i}`, {
      groups: ['engineering', i % 3 === 0 ? 'sre' : 'dev'],
      mfaMethods: ['totp'],
      mfaAt: now - 10 * 60_000,
      deviceId: `dev-${i}`,
      sessionId: `s${i}`,
    }),
  );
  devices.set({ id: `dev-${i}`, managed: true, tier: 'high', posture });
}
// Counts the distinct identities this worker resolved (a bitmap: nothing that grows with use).
const seen = new Uint8Array(count);
let distinct = 0;
const counting: IdentityPort = {
  resolve(request) {
    const id = identity.resolve(request);
    const uid = id?.user.id;
    if (uid !== undefined && uid.charCodeAt(0) === 117 /* u */) {
      const i = Number(uid.slice(1));
      if (seen[i] === 0) {
        seen[i] = 1;
        distinct++;
      }
    }
    return id;
  },
  loginUrl: (r) => identity.loginUrl(r),
  stepUpUrl: (r, q) => identity.stepUpUrl(r, q),
};
const keys = new KeyRing(new MemoryKeyRingStorage(), {
  rotateAfterMs: 24 * 3_600_000,
  maxTokenTtlMs: 5 * 60_000,
});
await keys.refresh(now);
const dataDir = join(String(values['audit-dir']), `worker-${workerId}`);
const writer =
  values.audit === 'off'
    ? undefined
    : new AuditWriter(
        values.audit === 'inline'
          ? (await openStore({ kind: 'sqlite', dataDir })).audit
          : new WorkerAuditTarget({ kind: 'sqlite', dataDir }),
        {
          batchWindowMs: Number(values['audit-window-ms']),
          onWarning: (code, message) => process.stderr.write(`audit ${code}: ${message}\n`),
        },
      );
// The access log as the default writer does it (batched), to /dev/null instead of stdout.
const devNull = createWriteStream('/dev/null');
const accessLog = lineBuffer((chunk) => devNull.write(chunk));
const proxy = createProxy({
  engine,
  publicUrl: PUBLIC_URL,
  tls: {
    cert: readFileSync(String(values.cert)),
    key: readFileSync(String(values.key)),
  },
  listen: { host: '127.0.0.1', port: Number(values.port) },
  identity: counting,
  devices,
  audit: writer ? auditWriterPort(writer) : { record: () => undefined },
  assertions: new AssertionSigner(keys, PUBLIC_URL),
  accessLog: (line) => accessLog.line(line),
  log: (line) => process.stderr.write(`${line}\n`),
});
await proxy.listen();
process.send?.({ ready: true });
process.on('message', (m) => {
  if (m !== 'stats') return;
  fullGc();
  const mem = process.memoryUsage();
  process.send?.({
    stats: {
      pid: process.pid,
      rss_mib: mib(mem.rss),
      heap_used_mib: mib(mem.heapUsed),
      heap_total_mib: mib(mem.heapTotal),
      external_mib: mib(mem.external),
      identities_resolved: distinct,
      audit_backlog: writer?.stats().backlog ?? 0,
      audit_committed: writer?.stats().committed ?? 0,
    } satisfies WorkerStats,
  });
});
process.on('SIGTERM', () => {
  void proxy
    .close(500)
    .then(() => writer?.close())
    .finally(() => process.exit(0));
});
