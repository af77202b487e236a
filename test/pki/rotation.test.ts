/**
 * Server certificate rotation: renewal at half of a certificate's life, retried when it fails,
 * and `setSecureContext` on a real https server: a keep-alive connection opened before the
 * rotation keeps working, a new connection sees the new certificate.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  CertificateManager,
  PkiError,
  pkiServerCertificates,
  type ServerCertificate,
  type Timers,
} from '../../src/pki/index.js';
import { normalizeSerial } from '../../src/pki/serial.js';
import { OPERATOR, testCa, type TestCa } from './helpers.js';

let ca: TestCa;
before(async () => {
  ca = await testCa();
});
after(() => ca.cleanup());

function get(
  agent: Agent,
  port: number,
): Promise<{ body: string; serial: string; socket: TLSSocket; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', agent, ca: ca.pki.ca.rootPem, servername: 'localhost' },
      (res) => {
        let body = '';
        const socket = res.socket as TLSSocket;
        const serial = normalizeSerial(socket.getPeerCertificate().serialNumber) ?? '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ body, serial, socket, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('CertificateManager with a real https server', () => {
  let server: Server;
  let manager: CertificateManager;
  const renewed: ServerCertificate[] = [];

  before(async () => {
    manager = new CertificateManager({
      obtain: pkiServerCertificates(
        ca.pki,
        { dns: ['localhost'], ips: ['127.0.0.1'], ttlMs: 3_600_000 },
        OPERATOR,
      ),
      onRenewed: (c) => renewed.push(c),
    });
    await manager.start();
    server = createServer(manager.secureContextOptions(), (_req, res) => res.end('hello'));
    manager.attach(server);
    server.keepAliveTimeout = 30_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(async () => {
    manager.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('renews at half of the certificate life', () => {
    const c = manager.current();
    assert.equal(manager.renewalTime(), c.notBefore + Math.floor((c.notAfter - c.notBefore) / 2));
  });

  it('keeps existing connections through a rotation; new ones get the new certificate', async () => {
    const port = (server.address() as AddressInfo).port;
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(keepAlive, port);
    assert.equal(first.body, 'hello');
    const oldSerial = manager.current().serial;
    assert.equal(first.serial, oldSerial);

    const next = await manager.rotate();
    assert.notEqual(next.serial, oldSerial);
    assert.equal(renewed.at(-1)?.serial, next.serial);

    const again = await get(keepAlive, port);
    assert.equal(again.body, 'hello', 'the old connection still works');
    assert.ok(again.reused, 'over the same connection');
    assert.equal(again.socket, first.socket);
    assert.equal(again.serial, oldSerial, 'which still has the old session');

    const fresh = new Agent({ keepAlive: false });
    const other = await get(fresh, port);
    assert.equal(other.serial, next.serial, 'a new connection sees the new certificate');
    keepAlive.destroy();
    fresh.destroy();
  });
});

describe('CertificateManager scheduling (injected clock and timers)', () => {
  function fakeTimers(): Timers & {
    pending: { fn: () => void; at: number }[];
    now: number;
    fire: () => void;
  } {
    const t = {
      now: 1_000_000,
      pending: [] as { fn: () => void; at: number }[],
      setTimeout(fn: () => void, ms: number) {
        const entry = { fn, at: t.now + ms };
        t.pending.push(entry);
        return entry;
      },
      clearTimeout(h: unknown) {
        t.pending = t.pending.filter((p) => p !== h);
      },
      fire() {
        const next = t.pending.shift();
        assert.ok(next, 'a timer is pending');
        t.now = next.at;
        next.fn();
      },
    };
    return t;
  }

  function cert(serial: string, notBefore: number, life: number): ServerCertificate {
    return { certPem: '', keyPem: '', serial, notBefore, notAfter: notBefore + life };
  }

  it('schedules the renewal at half-life, and renews when it fires', async () => {
    const timers = fakeTimers();
    let n = 0;
    const manager = new CertificateManager({
      obtain: () => Promise.resolve(cert(`s${++n}`, timers.now, 10_000)),
      now: () => timers.now,
      timers,
    });
    await manager.start();
    assert.equal(timers.pending.length, 1);
    assert.equal(timers.pending[0]?.at, 1_005_000);
    timers.fire();
    await new Promise((r) => setImmediate(r));
    assert.equal(manager.current().serial, 's2');
    assert.equal(timers.pending[0]?.at, 1_010_000);
    manager.stop();
    assert.equal(timers.pending.length, 0);
  });

  it('keeps the current certificate when renewal fails, reports it and retries', async () => {
    const timers = fakeTimers();
    const errors: PkiError[] = [];
    let fail = false;
    let n = 0;
    const manager = new CertificateManager({
      obtain: () =>
        fail
          ? Promise.reject(new PkiError('ZT_PKI_CA_INVALID', 'the CA is gone'))
          : Promise.resolve(cert(`s${++n}`, timers.now, 100_000)),
      now: () => timers.now,
      timers,
      retryMs: 5000,
      onError: (e) => errors.push(e),
    });
    await manager.start();
    fail = true;
    timers.fire();
    await new Promise((r) => setImmediate(r));
    assert.equal(manager.current().serial, 's1');
    assert.equal(errors[0]?.code, 'ZT_PKI_ROTATION_FAILED');
    assert.match(errors[0]?.message ?? '', /ZT_PKI_CA_INVALID: the CA is gone/);
    assert.equal(timers.pending[0]?.at, timers.now + 5000, 'retried');
    fail = false;
    timers.fire();
    await new Promise((r) => setImmediate(r));
    assert.equal(manager.current().serial, 's2');
    manager.stop();
  });
});
