/**
 * Streaming export: a real TCP (and TLS) syslog receiver parsing octet-counted frames, and a real
 * HTTPS webhook that fails before it accepts; the stream retries, resumes from its stored position
 * and delivers every record once and in order.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { sqliteTestBackend, tempDir, type TestDatabase } from '../store/testing.js';
import type { Store } from '../store/store.js';
import type { AuditRecord } from './record.js';
import { AuditStream } from './sinks/stream.js';
import { SyslogSink } from './sinks/syslog.js';
import { WebhookSink } from './sinks/webhook.js';
import { AuditWriter } from './writer.js';

/** Parses `LEN SP MSG` frames from a byte stream. */
function frameParser(onMessage: (m: string) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const sp = buf.indexOf(0x20);
      if (sp < 0) return;
      const len = Number(buf.subarray(0, sp).toString('ascii'));
      assert.ok(Number.isInteger(len) && len > 0, 'a frame starts with its length');
      if (buf.length < sp + 1 + len) return;
      onMessage(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
      buf = buf.subarray(sp + 1 + len);
    }
  };
}

function selfSignedCert(): { key: string; cert: string } | undefined {
  const dir = tempDir();
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'k.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'c.pem'), 'utf8'),
    };
  } catch {
    return undefined;
  }
}

const cert = selfSignedCert();

describe('audit streams', () => {
  let db: TestDatabase;
  let store: Store;
  let writer: AuditWriter;

  before(async () => {
    db = await sqliteTestBackend.createDatabase();
    store = await db.open();
    writer = new AuditWriter(store.audit, { batchWindowMs: 1 });
    for (let i = 0; i < 5; i++)
      writer.append({ kind: 'access', decision: 'allow', actor: { user: `u${i}` } });
    await writer.drain();
  });

  after(async () => {
    await writer.close();
    await store.close();
    await db.drop();
  });

  async function streamTo(
    sink: SyslogSink | WebhookSink,
    received: () => number,
    count: number,
    opts: { startAt?: 'beginning' | 'end' } = {},
  ): Promise<AuditStream> {
    const stream = new AuditStream(store, sink, {
      pollMs: 10,
      initialBackoffMs: 10,
      maxBackoffMs: 50,
      startAt: opts.startAt ?? 'beginning',
    });
    const off = writer.onCommit(() => stream.notify());
    stream.start();
    const deadline = Date.now() + 5000;
    while (received() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    off();
    return stream;
  }

  test('syslog over TCP: RFC 5424 messages with octet-counting framing, in order', async () => {
    const messages: string[] = [];
    const server = net.createServer((sock) =>
      sock.on(
        'data',
        frameParser((m) => messages.push(m)),
      ),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const sink = new SyslogSink({ name: 'tcp', host: '127.0.0.1', port, hostname: 'gw1' });
      const stream = await streamTo(sink, () => messages.length, 5);
      writer.append({ kind: 'logout', actor: { user: 'late' } });
      while (messages.length < 6) await new Promise((r) => setTimeout(r, 10));
      await stream.stop();
      assert.equal(messages.length, 6);
      for (const [i, m] of messages.entries()) {
        assert.match(
          m,
          new RegExp(
            `^<1\\d\\d>1 \\S+ gw1 ztgate \\d+ (access|logout) \\[ztgate@32473 seq="${i + 1}" `,
          ),
        );
      }
      assert.equal(await store.settings.get('audit.stream.tcp.seq'), '6');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test(
    'syslog over TLS (RFC 5425) with a private CA',
    { skip: cert ? false : 'openssl is not available to make a test certificate' },
    async () => {
      assert.ok(cert);
      const messages: string[] = [];
      const server = tls.createServer({ key: cert.key, cert: cert.cert }, (sock) =>
        sock.on(
          'data',
          frameParser((m) => messages.push(m)),
        ),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const sink = new SyslogSink({
          name: 'tls',
          host: '127.0.0.1',
          port,
          tls: { ca: cert.cert, servername: 'localhost' },
        });
        const stream = await streamTo(sink, () => messages.length, 5);
        await stream.stop();
        assert.ok(messages.length >= 5);
        assert.match(messages[0] ?? '', /seq="1"/);
      } finally {
        await new Promise((r) => server.close(r));
      }
    },
  );

  test('a webhook that fails is retried with backoff; batches are signed; the stream resumes where it stopped', async () => {
    const got: AuditRecord[] = [];
    let calls = 0;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        calls += 1;
        const body = Buffer.concat(chunks).toString('utf8');
        const sig = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
        assert.equal(req.headers['x-ztgate-signature'], sig);
        if (calls <= 2) {
          res.writeHead(503).end();
          return;
        }
        got.push(...(JSON.parse(body) as { records: AuditRecord[] }).records);
        res.writeHead(204).end();
      });
    };
    const server = cert
      ? https.createServer({ key: cert.key, cert: cert.cert }, handler)
      : http.createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const url = `${cert ? 'https' : 'http'}://${cert ? 'localhost' : '127.0.0.1'}:${port}/audit`;
    try {
      const warnings: string[] = [];
      const sink = new WebhookSink({
        name: 'hook',
        url,
        secret: 's3cret',
        ...(cert ? { ca: cert.cert } : {}),
      });
      const stream = new AuditStream(store, sink, {
        pollMs: 10,
        initialBackoffMs: 10,
        startAt: 'beginning',
        onWarning: (c) => warnings.push(c),
      });
      stream.start();
      while (got.length < 6) await new Promise((r) => setTimeout(r, 10));
      await stream.stop();
      assert.deepEqual(
        got.map((r) => r.seq),
        [1, 2, 3, 4, 5, 6],
      );
      assert.deepEqual(warnings, ['ZT_AUDIT_SINK_FAILED', 'ZT_AUDIT_SINK_FAILED']);
      // a new stream with the same name resumes after record 6
      writer.append({ kind: 'admin', action: 'config.reloaded' });
      await writer.drain();
      const again = new AuditStream(
        store,
        new WebhookSink({
          name: 'hook',
          url,
          secret: 's3cret',
          ...(cert ? { ca: cert.cert } : {}),
        }),
        { pollMs: 10 },
      );
      again.start();
      while (got.length < 7) await new Promise((r) => setTimeout(r, 10));
      await again.stop();
      assert.deepEqual(
        got.map((r) => r.seq),
        [1, 2, 3, 4, 5, 6, 7],
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('a webhook URL must be https unless it is loopback', () => {
    assert.throws(() => new WebhookSink({ url: 'http://siem.example.com/x' }), {
      code: 'ZT_AUDIT_SINK_FAILED',
    });
    assert.ok(new WebhookSink({ url: 'http://127.0.0.1:9/x' }));
  });
});
