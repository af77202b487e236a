import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from './canonical.js';
import { chainHash } from './chain.js';
import { octetCountingFrame, toJsonLine, toSyslogMessage } from './export.js';
import {
  bodyAt,
  prepareRecord,
  recordFromRow,
  type AuditEvent,
  type AuditRecord,
} from './record.js';

const json = fc.jsonValue();

test('canonical JSON is a fixed point of parse: canonical(parse(canonical(x))) = canonical(x)', () => {
  fc.assert(
    fc.property(json, (v) => {
      const c = canonicalJson(v);
      assert.equal(canonicalJson(JSON.parse(c)), c);
    }),
  );
});

test('canonical JSON does not depend on key order and has no whitespace outside strings', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), json), (obj) => {
      const reversed = Object.fromEntries(Object.entries(obj).reverse());
      assert.equal(canonicalJson(reversed), canonicalJson(obj));
      assert.deepEqual(JSON.parse(canonicalJson(obj)), JSON.parse(JSON.stringify(obj)));
    }),
  );
  assert.equal(
    canonicalJson({ b: [1, { d: null, c: 'x y' }], a: -0, é: 1.5e-7 }),
    '{"a":0,"b":[1,{"c":"x y","d":null}],"é":1.5e-7}',
  );
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});

test('canonical JSON refuses what is not plain JSON', () => {
  for (const bad of [NaN, Infinity, 1n, [undefined], new Date(0), () => 1, Symbol('s')]) {
    assert.throws(() => canonicalJson({ x: bad }), { code: 'ZT_AUDIT_RECORD_INVALID' });
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), { code: 'ZT_AUDIT_RECORD_INVALID' });
});

const eventArb: fc.Arbitrary<AuditEvent> = fc.record(
  {
    kind: fc.constantFrom(
      'access',
      'login',
      'logout',
      'mfa',
      'session',
      'device',
      'certificate',
      'admin',
    ),
    time: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    request_id: fc.string(),
    actor: fc.record(
      { user: fc.string(), device: fc.string(), service: fc.string() },
      { requiredKeys: [] },
    ),
    source_ip: fc.ipV4(),
    route: fc.string(),
    method: fc.constantFrom('GET', 'POST'),
    path: fc.string(),
    decision: fc.constantFrom('allow', 'deny', 'login', 'step_up'),
    policy: fc.string(),
    rule: fc.string(),
    reasons: fc.array(fc.record({ code: fc.string(), message: fc.string() })),
    mode: fc.constantFrom('enforce', 'audit'),
    latency_us: fc.nat(),
    before: json,
    after: json,
    details: fc.dictionary(fc.string(), json),
  },
  { requiredKeys: ['kind'] },
) as fc.Arbitrary<AuditEvent>;

test('a prepared record at any seq is canonical JSON holding the event, its id, seq and time', () => {
  fc.assert(
    fc.property(eventArb, fc.integer({ min: 1, max: 2 ** 40 }), (event, seq) => {
      const p = prepareRecord(event, 1_800_000_000_000, 'id-1');
      const body = bodyAt(p, seq);
      const parsed = JSON.parse(body) as Record<string, unknown>;
      assert.equal(canonicalJson(parsed), body);
      assert.equal(parsed.seq, seq);
      assert.equal(parsed.id, 'id-1');
      assert.equal(parsed.v, 1);
      assert.equal(parsed.time, new Date(event.time ?? 1_800_000_000_000).toISOString());
      const { time: _t, ...rest } = event;
      for (const [k, v] of Object.entries(rest))
        assert.deepEqual(parsed[k], JSON.parse(canonicalJson(v)));
    }),
    { numRuns: 300 },
  );
});

test('an event that sets writer fields or has an unknown kind is refused', () => {
  assert.throws(() => prepareRecord({ kind: 'nope' } as unknown as AuditEvent, 0), {
    code: 'ZT_AUDIT_RECORD_INVALID',
  });
  assert.throws(() => prepareRecord({ kind: 'access', seq: 3 } as unknown as AuditEvent, 0), {
    code: 'ZT_AUDIT_RECORD_INVALID',
  });
  assert.throws(() => prepareRecord({ kind: 'access', time: -5 }, 0), {
    code: 'ZT_AUDIT_RECORD_INVALID',
  });
  assert.throws(
    () => prepareRecord({ kind: 'access', actor: { user: 5 } } as unknown as AuditEvent, 0),
    {
      code: 'ZT_AUDIT_RECORD_INVALID',
    },
  );
});

function sampleRecord(): AuditRecord {
  const p = prepareRecord(
    {
      kind: 'access',
      time: Date.UTC(2026, 10, 22, 10, 5, 0, 123),
      request_id: 'req-1',
      actor: { user: 'alice', device: 'd1' },
      source_ip: '203.0.113.9',
      route: 'app.localhost',
      method: 'GET',
      path: '/x',
      decision: 'deny',
      policy: 'engineering',
      rule: 'deny[0]',
      reasons: [{ code: 'risk-too-high', message: 'risk "high" ]' }],
      mode: 'enforce',
      latency_us: 42,
    },
    0,
    'rec-1',
  );
  const body = bodyAt(p, 7);
  const prev = 'a'.repeat(64);
  const hash = chainHash(prev, body);
  return recordFromRow({
    seq: 7,
    id: 'rec-1',
    time: p.time,
    kind: 'access',
    userId: 'alice',
    deviceId: 'd1',
    route: 'app.localhost',
    decision: 'deny',
    body,
    prevHash: prev,
    hash,
  });
}

test('a JSON Lines export line can be re-verified on its own', () => {
  const r = sampleRecord();
  const line = toJsonLine(r);
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  const { hash, prev_hash, ...rest } = JSON.parse(line) as AuditRecord;
  assert.equal(chainHash(prev_hash, canonicalJson(rest)), hash);
});

test('RFC 5424 syslog lines have the header, structured data and octet-counting frame', () => {
  const r = sampleRecord();
  const msg = toSyslogMessage(r, { hostname: 'gw 1', procId: '99' });
  assert.match(
    msg,
    /^<109>1 2026-11-22T10:05:00\.123Z gw_1 ztgate 99 access \[ztgate@32473 seq="7" hash="[0-9a-f]{64}" kind="access" decision="deny" user="alice" device="d1" route="app\.localhost" request_id="req-1" source_ip="203\.0\.113\.9"\] \{/,
  );
  assert.equal(msg.slice(msg.indexOf('] {') + 2), toJsonLine(r).trimEnd());
  const frame = octetCountingFrame('é');
  assert.equal(frame, '2 é');
  const tricky = toSyslogMessage({ ...r, route: 'a"b]c\\d' });
  assert.ok(tricky.includes('route="a\\"b\\]c\\\\d"'));
});
