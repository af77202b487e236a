/**
 * Enrollment, reports and renewal end to end over real HTTPS on 127.0.0.1: the agent's enroll and
 * report code against the server-side handlers, a fake CA port signing with a throwaway CA, a
 * SQLite store. Then the hostile-input list: reused or expired codes, a CSR for another user,
 * reports for another device, forged, oversized and replayed reports: refused and audited.
 */
import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import { statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../src/audit/record.js';
import { PostureAgent } from '../../src/device/agent/agent.js';
import { collectorsFor } from '../../src/device/agent/collectors/index.js';
import { serverCodeOf } from '../../src/device/agent/client.js';
import { enrollAgent } from '../../src/device/agent/enroll.js';
import { AgentDirectory } from '../../src/device/agent/files.js';
import { InMemoryEnrollmentCodeStore, issueEnrollmentCode } from '../../src/device/enroll/codes.js';
import { chainWithoutLeaf, DeviceEnrollment } from '../../src/device/enroll/enroll.js';
import { DeviceError } from '../../src/device/errors.js';
import { DeviceEndpoints } from '../../src/device/http/endpoints.js';
import { revokeDevice } from '../../src/device/inventory.js';
import type { DeviceChangeEvent } from '../../src/device/ports.js';
import { deviceFacts } from '../../src/device/posture/facts.js';
import { PostureService } from '../../src/device/report/posture-service.js';
import { resolveDeviceSettings } from '../../src/device/settings.js';
import { x509 } from '../../src/device/x509.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../../src/store/testing.js';
import {
  createTestCa,
  csrFor,
  fakeContext,
  FakeIssuer,
  fixture,
  openTestStore,
  startHttpsServer,
  type FakeMachine,
  type TestCa,
  type TestServer,
} from './helpers.js';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A raw JSON POST, optionally with a client certificate: what a hostile client can send. */
function post(
  server: TestServer,
  path: string,
  body: unknown,
  options: {
    ca: string;
    key?: string;
    cert?: string;
    contentType?: string;
    raw?: string | Buffer;
  } = { ca: '' },
): Promise<Reply> {
  const payload = options.raw ?? JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method: 'POST',
        ca: options.ca,
        ...(options.key && options.cert ? { key: options.key, cert: options.cert } : {}),
        headers: {
          'content-type': options.contentType ?? 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const errorCode = (r: Reply): unknown =>
  (r.body.error as Record<string, unknown> | undefined)?.code;

describe('enrollment and posture reports over HTTPS', () => {
  let ca: TestCa;
  let store: Store;
  let server: TestServer;
  let issuer: FakeIssuer;
  let enrollment: DeviceEnrollment;
  let posture: PostureService;
  const codes = new InMemoryEnrollmentCodeStore();
  const audit: AuditEvent[] = [];
  const published: DeviceChangeEvent[] = [];
  let skew = 0;
  const clock = (): number => Date.now() + skew;
  const settings = resolveDeviceSettings({
    tiers: {
      high: { managed: true, posture: { disk_encrypted: true, firewall: true } },
      basic: { managed: true },
    },
    edr_processes: ['falcon-sensor'],
  });
  const machine: { current: FakeMachine } = {
    current: {
      files: { '/etc/os-release': fixture('linux/os-release-debian.txt') },
      commands: {
        'lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE': fixture('linux/lsblk-luks-lvm.json'),
        'nft list ruleset': fixture('linux/nft-inet-drop.txt'),
      },
    },
  };
  const agentDirs: string[] = [];

  const codeFor = async (userId: string, email: string | null = null): Promise<string> =>
    (
      await issueEnrollmentCode(
        codes,
        { id: userId, email },
        { now: clock(), ttlMs: settings.enrollCodeTtlMs },
      )
    ).code;

  const enrollNew = async (
    userId: string,
    extra: { user?: string } = {},
  ): Promise<{ dir: string; deviceId: string }> => {
    const dir = join(tempDir('ztgate-agent-'), 'agent');
    agentDirs.push(dir);
    const enrolled = await enrollAgent({
      server: server.url,
      code: await codeFor(userId),
      dir,
      platform: 'linux',
      ca: ca.pem,
      ...extra,
    });
    return { dir, deviceId: enrolled.deviceId };
  };

  const agentFor = (dir: string): PostureAgent =>
    new PostureAgent({
      dir,
      collectors: collectorsFor('linux'),
      context: (edr) => ({ ...fakeContext(machine.current), edrProcesses: edr }),
    });

  before(async () => {
    ca = await createTestCa();
    store = await openTestStore([
      { id: 'u1', email: 'alice@example.com' },
      { id: 'u2', email: 'bob@example.com' },
      { id: 'u3', email: 'carol@example.com', disabled: true },
    ]);
    issuer = new FakeIssuer(ca);
    const sink = { append: (e: AuditEvent) => void audit.push(e) };
    const events = { publish: (e: DeviceChangeEvent) => (published.push(e), Promise.resolve()) };
    enrollment = new DeviceEnrollment({
      devices: store.devices,
      users: store.users,
      codes,
      issuer,
      audit: sink,
      now: clock,
    });
    posture = new PostureService({
      devices: store.devices,
      events,
      audit: sink,
      settings,
      now: clock,
    });
    const endpoints = new DeviceEndpoints({ enrollment, posture });
    server = await startHttpsServer(ca, async (req, res) => {
      if (!(await endpoints.route(req, res))) {
        res.writeHead(404);
        res.end();
      }
    });
  });

  after(async () => {
    await server.close();
    await store.close();
  });

  test('`agent enroll` asks which user the code is for, makes the key on the device and stores key and certificate 0600', async () => {
    const { dir, deviceId } = await enrollNew('u1');
    const device = await store.devices.get(deviceId);
    assert.equal(device?.state, 'active');
    assert.equal(device?.userId, 'u1');
    assert.equal(device?.os, 'linux');
    assert.match(deviceId, /^dev-[0-9a-z]{26}$/);
    if (process.platform !== 'win32') {
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const f of ['device.key', 'device.crt', 'agent.json', 'state.json', 'server-ca.pem'])
        assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    }
    const identity = new AgentDirectory(dir).readIdentity();
    assert.equal(
      device?.certificateSerial,
      new X509Certificate(identity.certPem).serialNumber.toLowerCase(),
    );
    assert.ok(
      new X509Certificate(identity.certPem).subjectAltName?.includes(
        `urn:ztgate:device:${deviceId}`,
      ),
    );
    assert.equal(issuer.issued.at(-1)?.userId, 'u1');
    // leaf then chain, the leaf once even when the CA's chain repeats it
    assert.equal(identity.certPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    const leafDer = new X509Certificate(identity.certPem).raw;
    const leafPem = identity.certPem.slice(
      0,
      identity.certPem.indexOf('-----END CERTIFICATE-----') + 25,
    );
    assert.equal(chainWithoutLeaf(`${leafPem}\n${ca.pem}`, leafDer).trim(), ca.pem.trim());
    assert.ok(audit.some((e) => e.action === 'device.enrolled' && e.actor?.device === deviceId));
  });

  test('a reused code is refused and audited', async () => {
    const code = await codeFor('u1');
    await enrollAgent({
      server: server.url,
      code,
      dir: join(tempDir(), 'a'),
      platform: 'linux',
      ca: ca.pem,
    });
    await assert.rejects(
      enrollAgent({
        server: server.url,
        code,
        dir: join(tempDir(), 'b'),
        platform: 'linux',
        ca: ca.pem,
        user: 'u1',
      }),
      (err: unknown) => serverCodeOf(err) === 'ZT_DEVICE_ENROLL_CODE_INVALID',
    );
    assert.equal(audit.at(-1)?.action, 'device.enroll_refused');
    assert.equal(audit.at(-1)?.details?.refusal, 'used');
  });

  test('an expired code is refused, and so are unknown and malformed ones', async () => {
    const code = await codeFor('u1');
    skew += 10 * 60_000 + 1;
    try {
      const r = await post(server, '/api/device/enroll/code', { code }, { ca: ca.pem });
      assert.equal(r.status, 401);
      assert.equal(errorCode(r), 'ZT_DEVICE_ENROLL_CODE_INVALID');
      assert.equal(audit.at(-1)?.details?.refusal, 'expired');
    } finally {
      skew = 0;
    }
    for (const bad of ['AAAAA-AAAAA-AAAAA-AAAAA', 'not a code', '']) {
      const r = await post(
        server,
        '/api/device/enroll',
        { code: bad, csr: await csrFor({ user: 'u1' }), device: { hostname: 'h', os: 'linux' } },
        { ca: ca.pem },
      );
      assert.ok(r.status === 401 || r.status === 400, bad);
    }
  });

  test('a CSR for another user is refused, audited, and uses the code up', async () => {
    const code = await codeFor('u1');
    const device = { hostname: 'mallory', os: 'linux' };
    const r = await post(
      server,
      '/api/device/enroll',
      { code, csr: await csrFor({ user: 'u2' }), device },
      { ca: ca.pem },
    );
    assert.equal(r.status, 403);
    assert.equal(errorCode(r), 'ZT_DEVICE_CSR_IDENTITY_MISMATCH');
    assert.equal(audit.at(-1)?.action, 'device.enroll_refused');
    assert.equal(audit.at(-1)?.actor?.user, 'u1');
    const again = await post(
      server,
      '/api/device/enroll',
      { code, csr: await csrFor({ user: 'u1' }), device },
      { ca: ca.pem },
    );
    assert.equal(errorCode(again), 'ZT_DEVICE_ENROLL_CODE_INVALID');
  });

  test('CSR identity: the user email is accepted; another email, a device name or no name is not', async () => {
    const device = { hostname: 'laptop-2', os: 'linux' };
    const ok = await post(
      server,
      '/api/device/enroll',
      { code: await codeFor('u1'), csr: await csrFor({ email: 'Alice@Example.com' }), device },
      { ca: ca.pem },
    );
    assert.equal(ok.status, 201);
    for (const names of [{ email: 'bob@example.com' }, { user: 'u1', device: 'dev-chosen' }, {}]) {
      const r = await post(
        server,
        '/api/device/enroll',
        { code: await codeFor('u1'), csr: await csrFor(names), device },
        { ca: ca.pem },
      );
      assert.equal(errorCode(r), 'ZT_DEVICE_CSR_IDENTITY_MISMATCH', JSON.stringify(names));
    }
  });

  test('malformed, badly signed and non-ECDSA CSRs are refused', async () => {
    const device = { hostname: 'h', os: 'linux' };
    const good = await csrFor({ user: 'u1' });
    const der = Buffer.from(good.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const rsaKeys = await webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    );
    const rsa = (
      await x509.Pkcs10CertificateRequestGenerator.create({
        name: 'CN=x',
        keys: rsaKeys,
        signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        extensions: [
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'urn:ztgate:user:u1' }]),
        ],
      })
    ).toString('pem');
    for (const [what, csr] of [
      ['garbage', 'hello'],
      ['two blocks', `${good}${good}`],
      ['text around', `subject=CN=x\n${good}`],
      ['tampered', tampered],
      ['rsa', rsa],
    ] as const) {
      const r = await post(
        server,
        '/api/device/enroll',
        { code: await codeFor('u1'), csr, device },
        { ca: ca.pem },
      );
      assert.equal(errorCode(r), 'ZT_DEVICE_CSR_INVALID', what);
    }
    const p384 = await post(
      server,
      '/api/device/enroll',
      { code: await codeFor('u1'), csr: await csrFor({ user: 'u1' }, 'P-384'), device },
      { ca: ca.pem },
    );
    assert.equal(p384.status, 201);
  });

  test('hostile requests: oversized, not JSON, wrong content type, unknown keys, bad device info, disabled user', async () => {
    const big = await post(server, '/api/device/enroll', null, {
      ca: ca.pem,
      raw: `{"code":"${'A'.repeat(40_000)}"}`,
    });
    assert.equal(big.status, 413);
    assert.equal(
      (await post(server, '/api/device/enroll', null, { ca: ca.pem, raw: '{not json' })).status,
      400,
    );
    assert.equal(
      (await post(server, '/api/device/enroll', {}, { ca: ca.pem, contentType: 'text/plain' }))
        .status,
      400,
    );
    assert.equal(
      (
        await post(
          server,
          '/api/device/enroll',
          { code: 'x', csr: 'y', device: {}, admin: true },
          { ca: ca.pem },
        )
      ).status,
      400,
    );
    const badHost = await post(
      server,
      '/api/device/enroll',
      {
        code: await codeFor('u1'),
        csr: await csrFor({ user: 'u1' }),
        device: { hostname: 'a\nb', os: 'linux' },
      },
      { ca: ca.pem },
    );
    assert.equal(badHost.status, 400);
    const disabled = await post(
      server,
      '/api/device/enroll',
      {
        code: await codeFor('u3'),
        csr: await csrFor({ user: 'u3' }),
        device: { hostname: 'h', os: 'linux' },
      },
      { ca: ca.pem },
    );
    assert.equal(errorCode(disabled), 'ZT_DEVICE_ENROLL_CODE_INVALID');
  });

  test('when the CA fails or returns a certificate for another key, nothing is enrolled and the client sees only a request id', async () => {
    const before = (await store.devices.listByUser('u2')).length;
    issuer.failNext = true;
    const r = await post(
      server,
      '/api/device/enroll',
      {
        code: await codeFor('u2'),
        csr: await csrFor({ user: 'u2' }),
        device: { hostname: 'h', os: 'linux' },
      },
      { ca: ca.pem },
    );
    assert.equal(r.status, 503);
    assert.deepEqual(Object.keys(r.body.error as object).sort(), ['code', 'request_id']);
    issuer.wrongKey = true;
    try {
      const w = await post(
        server,
        '/api/device/enroll',
        {
          code: await codeFor('u2'),
          csr: await csrFor({ user: 'u2' }),
          device: { hostname: 'h', os: 'linux' },
        },
        { ca: ca.pem },
      );
      assert.equal(errorCode(w), 'ZT_DEVICE_ISSUANCE_FAILED');
    } finally {
      issuer.wrongKey = false;
    }
    assert.equal((await store.devices.listByUser('u2')).length, before);
  });

  test('the agent reports over mTLS; a change goes out at once, nothing changed waits for the interval', async () => {
    const { dir, deviceId } = await enrollNew('u1');
    const agent = agentFor(dir);
    published.length = 0;
    const first = await agent.tick();
    assert.equal(first.sent, true);
    assert.equal(first.tier, 'high');
    assert.deepEqual(published, [{ type: 'device.posture_changed', deviceId }]);
    const record = await store.devices.get(deviceId);
    assert.ok(record);
    const facts = deviceFacts(record, clock(), settings);
    assert.equal(facts.posture?.firewall, true);
    assert.equal(facts.posture?.disk_encrypted, true);
    assert.equal(facts.tier, 'high');

    const quiet = await agent.tick();
    assert.equal(quiet.sent, false);

    machine.current = {
      ...machine.current,
      commands: {
        ...machine.current.commands,
        'nft list ruleset': fixture('linux/nft-docker-only.txt'),
      },
    };
    try {
      const changed = await agent.tick();
      assert.equal(changed.sent, true);
      assert.ok(changed.report.seq > first.report.seq);
      assert.deepEqual(changed.changes, ['tier', 'posture.firewall']);
      assert.equal(changed.tier, 'basic');
      assert.equal(published.length, 2);
      const history = await posture.history.list(deviceId);
      assert.equal(history.length, 2);
      assert.deepEqual(history[0]?.changes, ['tier', 'posture.firewall']);
      assert.ok(
        audit.some((e) => e.action === 'device.posture_changed' && e.actor?.device === deviceId),
      );
    } finally {
      machine.current = {
        ...machine.current,
        commands: {
          ...machine.current.commands,
          'nft list ruleset': fixture('linux/nft-inet-drop.txt'),
        },
      };
    }
  });

  test('hostile reports: replayed, stale, for another device, forged, oversized, without or with a foreign certificate', async () => {
    const a = await enrollNew('u1');
    const b = await enrollNew('u2');
    const idA = new AgentDirectory(a.dir).readIdentity();
    const idB = new AgentDirectory(b.dir).readIdentity();
    const withA = { ca: ca.pem, key: idA.keyPem, cert: idA.certPem };
    const report = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
      v: 1,
      device_id: a.deviceId,
      seq: 10,
      sent_at: new Date(clock()).toISOString(),
      attributes: { firewall: true },
      ...over,
    });
    const refusedCount = (): number =>
      audit.filter((e) => e.action === 'device.report_refused').length;
    const start = refusedCount();

    assert.equal((await post(server, '/api/device/report', report(), withA)).status, 200);
    const replay = await post(server, '/api/device/report', report(), withA);
    assert.equal(replay.status, 409);
    assert.equal(errorCode(replay), 'ZT_DEVICE_REPORT_REPLAYED');
    assert.equal(
      errorCode(await post(server, '/api/device/report', report({ seq: 9 }), withA)),
      'ZT_DEVICE_REPORT_REPLAYED',
    );
    const old = report({ seq: 11, sent_at: new Date(clock() - 6 * 60_000).toISOString() });
    assert.equal(
      errorCode(await post(server, '/api/device/report', old, withA)),
      'ZT_DEVICE_REPORT_REPLAYED',
    );
    const future = report({ seq: 12, sent_at: new Date(clock() + 6 * 60_000).toISOString() });
    assert.equal(
      errorCode(await post(server, '/api/device/report', future, withA)),
      'ZT_DEVICE_REPORT_REPLAYED',
    );

    const other = await post(
      server,
      '/api/device/report',
      report({ device_id: a.deviceId, seq: 20 }),
      { ca: ca.pem, key: idB.keyPem, cert: idB.certPem },
    );
    assert.equal(other.status, 403);
    assert.equal(errorCode(other), 'ZT_DEVICE_REPORT_WRONG_DEVICE');

    const forged = await post(
      server,
      '/api/device/report',
      report({ seq: 21, attributes: { mdm_compliant: true } }),
      withA,
    );
    assert.equal(errorCode(forged), 'ZT_DEVICE_REPORT_INVALID');
    const big = await post(server, '/api/device/report', null, {
      ...withA,
      raw: JSON.stringify(report({ seq: 22, unavailable: { x: 'y'.repeat(20_000) } })),
    });
    assert.equal(big.status, 413);

    const anonymous = await post(server, '/api/device/report', report({ seq: 23 }), { ca: ca.pem });
    assert.equal(errorCode(anonymous), 'ZT_DEVICE_CLIENT_CERT_REQUIRED');
    const rogueCa = await createTestCa('rogue');
    // a certificate for A's own key and device id, signed by a CA the server does not trust
    const rogueForA = await new FakeIssuer(rogueCa).issueDeviceCertificate({
      csrPem: await csrOf(idA.keyPem, idA.certPem),
      deviceId: a.deviceId,
      userId: 'u1',
    });
    const foreign = await post(server, '/api/device/report', report({ seq: 24 }), {
      ca: ca.pem,
      key: idA.keyPem,
      cert: rogueForA.certificatePem,
    });
    assert.equal(errorCode(foreign), 'ZT_DEVICE_CLIENT_CERT_REQUIRED');

    assert.ok(refusedCount() - start >= 8, 'every refusal is audited');
    const last = audit
      .filter((e) => e.action === 'device.report_refused')
      .map((e) => e.details?.code);
    for (const code of [
      'ZT_DEVICE_REPORT_REPLAYED',
      'ZT_DEVICE_REPORT_WRONG_DEVICE',
      'ZT_DEVICE_REPORT_INVALID',
      'ZT_DEVICE_REQUEST_TOO_LARGE',
      'ZT_DEVICE_CLIENT_CERT_REQUIRED',
    ]) {
      assert.ok(last.includes(code), code);
    }
  });

  test('renewal with the current certificate as proof; the old certificate stops working and is revoked as superseded', async () => {
    const { dir, deviceId } = await enrollNew('u1');
    const agent = agentFor(dir);
    const oldIdentity = agent.certificate;
    assert.equal(await agent.renewIfDue(), false, 'not due yet');
    assert.equal(await agent.renewIfDue(true), true);
    const renewed = agent.certificate;
    assert.notEqual(renewed.serial, oldIdentity.serial);
    assert.equal((await store.devices.get(deviceId))?.certificateSerial, renewed.serial);
    assert.deepEqual(issuer.revoked.at(-1), { serial: oldIdentity.serial, reason: 'superseded' });
    assert.equal(issuer.issued.at(-1)?.renewalOf, oldIdentity.serial);
    assert.equal((await agent.tick({ force: true })).sent, true);
    const stale = await post(
      server,
      '/api/device/report',
      {
        v: 1,
        device_id: deviceId,
        seq: Date.now() + 10_000,
        sent_at: new Date().toISOString(),
        attributes: {},
      },
      { ca: ca.pem, key: oldIdentity.keyPem, cert: oldIdentity.certPem },
    );
    assert.equal(errorCode(stale), 'ZT_DEVICE_CLIENT_CERT_UNKNOWN');
    const renewAgain = await post(
      server,
      '/api/device/renew',
      { csr: await csrFor({ user: 'u1' }) },
      { ca: ca.pem, key: oldIdentity.keyPem, cert: oldIdentity.certPem },
    );
    assert.equal(errorCode(renewAgain), 'ZT_DEVICE_CLIENT_CERT_UNKNOWN');
  });

  test('a revoked device is refused at once and the agent stops; its facts are empty', async () => {
    const { dir, deviceId } = await enrollNew('u2');
    const agent = agentFor(dir);
    await agent.tick({ force: true });
    published.length = 0;
    const events = { publish: (e: DeviceChangeEvent) => (published.push(e), Promise.resolve()) };
    const outcome = await revokeDevice(deviceId, {
      devices: store.devices,
      now: clock(),
      events,
      issuer,
    });
    assert.equal(outcome.changed, true);
    assert.equal(outcome.certificate_revoked, true);
    assert.deepEqual(published, [{ type: 'device.revoked', deviceId }]);
    await assert.rejects(
      agent.tick({ force: true }),
      (err: unknown) => serverCodeOf(err) === 'ZT_DEVICE_REVOKED',
    );
    await assert.rejects(
      agent.run(new AbortController().signal),
      (err: unknown) => err instanceof DeviceError && serverCodeOf(err) === 'ZT_DEVICE_REVOKED',
    );
    const record = await store.devices.get(deviceId);
    assert.ok(record);
    assert.deepEqual(deviceFacts(record, clock(), settings), {});
    assert.equal(
      (await revokeDevice(deviceId, { devices: store.devices, now: clock() })).changed,
      false,
    );
  });
});

/** A CSR for the key of an existing identity (to get a rogue CA to certify a key we hold). */
async function csrOf(keyPem: string, certPem: string): Promise<string> {
  const der = Buffer.from(keyPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    der,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey(
    'spki',
    spki,
    { name: 'ECDSA', namedCurve: 'P-256' },
    true,
    ['verify'],
  );
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=rogue',
    keys: { privateKey, publicKey },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}
