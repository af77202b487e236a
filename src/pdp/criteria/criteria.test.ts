import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codes, decide, errorsOf, sample, verdict } from '../test-helpers/decide.js';

const anon = sample({ user: undefined, session: undefined });

describe('public and authenticated', () => {
  it('public admits everyone, signed in or not', () => {
    assert.equal(verdict({ allow: [{ public: true }] }, anon), 'allow');
    assert.equal(verdict({ allow: [{ public: true }] }, {}), 'allow');
  });
  it('authenticated admits any signed-in user and asks the others to sign in', () => {
    assert.equal(verdict({ allow: [{ authenticated: true }] }, sample()), 'allow');
    assert.equal(verdict({ allow: [{ authenticated: true }] }, anon), 'login');
    assert.deepEqual(codes({ allow: [{ authenticated: true }] }, anon), ['user-unauthenticated']);
  });
  it('a user without an id is not signed in', () => {
    assert.equal(
      verdict({ allow: [{ authenticated: true }] }, { user: { id: '', email: 'a@b.c' } }),
      'login',
    );
    assert.equal(
      verdict({ allow: [{ authenticated: true }] }, { user: { email: 'a@b.c' } }),
      'login',
    );
  });
});

describe('users and domains', () => {
  it('matches emails case-insensitively and ids exactly', () => {
    const p = { allow: [{ users: ['Alice@Example.com', 'u-42'] }] };
    assert.equal(verdict(p, sample()), 'allow');
    assert.equal(verdict(p, sample({ user: { id: 'u-42' } })), 'allow');
    assert.equal(verdict(p, sample({ user: { id: 'U-42' } })), 'deny');
    assert.deepEqual(codes(p, sample({ user: { id: 'u2', email: 'bob@example.com' } })), [
      'user-not-allowed',
    ]);
  });
  it('a single value works like a list of one', () => {
    assert.equal(verdict({ allow: [{ users: 'alice@example.com' }] }, sample()), 'allow');
  });
  it('domains compare exactly after the last @, ignoring case', () => {
    const p = { allow: [{ domains: ['example.com'] }] };
    assert.equal(verdict(p, sample({ user: { id: 'u', email: 'x@EXAMPLE.com' } })), 'allow');
    assert.equal(verdict(p, sample({ user: { id: 'u', email: 'x@sub.example.com' } })), 'deny');
    assert.equal(
      verdict(p, sample({ user: { id: 'u', email: 'x@example.com@evil.test' } })),
      'deny',
    );
    assert.equal(verdict(p, sample({ user: { id: 'u', email: 'no-at-sign' } })), 'deny');
    assert.equal(verdict(p, sample({ user: { id: 'u' } })), 'deny');
    assert.equal(verdict(p, anon), 'login');
  });
  it('rejects a domain that is not a domain name', () => {
    assert.deepEqual(errorsOf({ allow: [{ domains: ['alice@example.com'] }] }), [
      'ZT_POLICY_INVALID_VALUE',
    ]);
    assert.deepEqual(errorsOf({ allow: [{ domains: ['exa mple.com'] }] }), [
      'ZT_POLICY_INVALID_VALUE',
    ]);
  });
});

describe('groups and claims', () => {
  it('holds when the user is in any listed group', () => {
    assert.equal(verdict({ allow: [{ groups: ['hr', 'engineering'] }] }, sample()), 'allow');
    assert.deepEqual(codes({ allow: [{ groups: ['hr'] }] }, sample()), ['group-not-allowed']);
  });
  it('group names are exact', () => {
    assert.equal(verdict({ allow: [{ groups: ['Engineering'] }] }, sample()), 'deny');
  });
  it('malformed group facts are treated as no groups', () => {
    assert.equal(
      verdict(
        { allow: [{ groups: ['engineering'] }] },
        { user: { id: 'u', groups: 'engineering' as never } },
      ),
      'deny',
    );
  });
  it('claims compare strictly and accept any listed value; list claims match any element', () => {
    const p = { allow: [{ claims: { department: ['eng', 'ops'], level: 3 } }] };
    assert.equal(
      verdict(p, sample({ user: { id: 'u', claims: { department: 'eng', level: 3 } } })),
      'allow',
    );
    assert.equal(
      verdict(p, sample({ user: { id: 'u', claims: { department: ['x', 'ops'], level: 3 } } })),
      'allow',
    );
    assert.equal(
      verdict(p, sample({ user: { id: 'u', claims: { department: 'eng', level: '3' } } })),
      'deny',
    );
    assert.equal(verdict(p, sample({ user: { id: 'u', claims: { department: 'eng' } } })), 'deny');
    assert.equal(
      verdict(
        p,
        sample({ user: { id: 'u', claims: { department: 'eng', level: 3, toString: 1 } } }),
      ),
      'allow',
    );
    assert.deepEqual(codes(p, sample({ user: { id: 'u', claims: {} } })), ['claim-mismatch']);
  });
  it('a claim named like an Object.prototype member is not inherited', () => {
    assert.equal(
      verdict(
        { allow: [{ claims: { constructor: 'x' } }] },
        sample({ user: { id: 'u', claims: {} } }),
      ),
      'deny',
    );
  });
});

describe('mfa', () => {
  const p = { allow: [{ groups: ['engineering'], mfa: { max_age: '30m' } }] };
  it('holds for MFA within max_age, including exactly at the boundary', () => {
    assert.equal(verdict(p, sample()), 'allow');
    const at = (t: string) => sample({ session: { id: 's', mfa: { methods: ['totp'], at: t } } });
    assert.equal(verdict(p, at('2026-11-22T09:35:00Z')), 'allow'); // exactly 30m
    assert.equal(verdict(p, at('2026-11-22T09:34:59Z')), 'step_up');
    assert.deepEqual(codes(p, at('2026-11-22T09:34:59Z')), ['mfa-too-old']);
  });
  it('step-up carries what the IdP must achieve', () => {
    const d = decide(
      { allow: [{ mfa: { max_age: '30m', methods: ['webauthn'] } }] },
      sample({ session: { id: 's', mfa: { methods: ['totp'], at: '2026-11-22T10:00:00Z' } } }),
    );
    assert.equal(d.decision, 'step_up');
    assert.equal(d.reasons[0]?.code, 'mfa-method-not-allowed');
    assert.deepEqual(d.reasons[0]?.step_up, { max_age: 1800, methods: ['webauthn'] });
  });
  it('no MFA at all is a step-up; no user is a login', () => {
    assert.deepEqual(codes({ allow: [{ mfa: true }] }, sample({ session: { id: 's' } })), [
      'mfa-required',
    ]);
    assert.equal(verdict({ allow: [{ mfa: true }] }, sample({ session: { id: 's' } })), 'step_up');
    assert.equal(verdict({ allow: [{ mfa: true }] }, anon), 'login');
  });
  it('tolerates small clock skew into the future, not more', () => {
    const at = (t: string) => sample({ session: { id: 's', mfa: { methods: ['totp'], at: t } } });
    assert.equal(verdict(p, at('2026-11-22T10:09:00Z')), 'allow');
    assert.equal(verdict(p, at('2027-01-01T00:00:00Z')), 'step_up');
  });
  it('a missing or malformed request time makes max_age unknown, not satisfied', () => {
    const noTime = sample({ request: { method: 'GET', path: '/x' } });
    assert.deepEqual(codes(p, noTime), ['time-unknown']);
    assert.equal(verdict(p, noTime), 'deny');
    assert.equal(verdict(p, sample({ request: { time: 'yesterday' } })), 'deny');
  });
  it('accepts epoch milliseconds as well as RFC 3339', () => {
    const now = Date.parse('2026-11-22T10:05:00Z');
    const input = sample({
      request: { method: 'GET', path: '/x', time: now },
      session: { id: 's', mfa: { methods: ['totp'], at: now - 60_000 } },
    });
    assert.equal(verdict(p, input), 'allow');
  });
  it('MFA runs last, so step-up is only offered when MFA is all that is missing', () => {
    const q = { allow: [{ mfa: { max_age: '1m' }, device: { managed: true } }] };
    assert.deepEqual(codes(q, sample({ device: { id: 'd', managed: false } })), [
      'device-unmanaged',
    ]);
    assert.equal(verdict(q, sample({ device: { id: 'd', managed: false } })), 'deny');
    assert.equal(verdict(q, sample()), 'step_up');
  });
});

describe('device', () => {
  const p = {
    allow: [
      {
        device: {
          managed: true,
          tier: ['high', 'medium'],
          posture: { disk_encrypted: true, os_patch_age_days: { max: 30 } },
        },
      },
    ],
  };
  it('holds for a managed, healthy device in an accepted tier', () => {
    assert.equal(verdict(p, sample()), 'allow');
  });
  it('names exactly what to fix', () => {
    const dev = (posture: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      sample({ device: { id: 'd', managed: true, tier: 'high', posture, ...extra } });
    const d = decide(p, dev({ disk_encrypted: false, os_patch_age_days: 3 }));
    assert.equal(d.reasons[0]?.code, 'device-unhealthy');
    assert.equal(d.reasons[0]?.criterion, 'device.posture.disk_encrypted');
    assert.deepEqual(codes(p, dev({ disk_encrypted: true, os_patch_age_days: 31 })), [
      'device-unhealthy',
    ]);
    assert.deepEqual(codes(p, dev({ disk_encrypted: true, os_patch_age_days: 30 })), [
      'rule-allowed',
    ]);
    assert.deepEqual(codes(p, dev({ disk_encrypted: true, os_patch_age_days: '3' })), [
      'device-unhealthy',
    ]);
    assert.deepEqual(codes(p, dev({ disk_encrypted: true })), ['device-posture-unknown']);
    assert.deepEqual(codes(p, dev({ disk_encrypted: true, os_patch_age_days: null })), [
      'device-posture-unknown',
    ]);
    assert.deepEqual(
      codes(p, dev({ disk_encrypted: true, os_patch_age_days: 1 }, { tier: 'low' })),
      ['device-tier-insufficient'],
    );
    assert.deepEqual(
      codes(p, dev({ disk_encrypted: true, os_patch_age_days: 1 }, { managed: false })),
      ['device-unmanaged'],
    );
  });
  it('no device is unknown: the rule does not hold', () => {
    assert.deepEqual(codes(p, sample({ device: undefined })), ['device-missing']);
    assert.deepEqual(codes(p, sample({ device: { managed: true } })), ['device-missing']);
    assert.deepEqual(codes({ allow: [{ device: {} }] }, sample({ device: undefined })), [
      'device-missing',
    ]);
    assert.equal(verdict({ allow: [{ device: {} }] }, sample()), 'allow');
  });
  it('supports `in` lists and min ranges, and rejects empty ranges', () => {
    const q = {
      allow: [
        { device: { posture: { os: { in: ['debian', 'macos'] }, agent_version: { min: 2 } } } },
      ],
    };
    assert.equal(
      verdict(q, sample({ device: { id: 'd', posture: { os: 'macos', agent_version: 2 } } })),
      'allow',
    );
    assert.equal(
      verdict(q, sample({ device: { id: 'd', posture: { os: 'windows', agent_version: 2 } } })),
      'deny',
    );
    assert.deepEqual(errorsOf({ allow: [{ device: { posture: { x: { min: 5, max: 1 } } } }] }), [
      'ZT_POLICY_INVALID_RANGE',
    ]);
    assert.deepEqual(errorsOf({ allow: [{ device: { posture: { x: {} } } }] }), [
      'ZT_POLICY_INVALID_RANGE',
    ]);
  });
});

describe('methods and paths', () => {
  it('methods compare without case', () => {
    const p = { allow: [{ methods: ['get', 'HEAD'], authenticated: true }] };
    assert.equal(verdict(p, sample()), 'allow');
    assert.equal(verdict(p, sample({ request: { method: 'head' } })), 'allow');
    assert.deepEqual(codes(p, sample({ request: { method: 'POST' } })), ['method-not-allowed']);
    assert.deepEqual(codes(p, sample({ request: {} })), ['input-missing']);
  });
  it('paths use segment globs', () => {
    const p = { allow: [{ paths: ['/api/**', '/files/*.pdf'], authenticated: true }] };
    const at = (path: string) => verdict(p, sample({ request: { method: 'GET', path } }));
    assert.equal(at('/api'), 'allow');
    assert.equal(at('/api/v1/x'), 'allow');
    assert.equal(at('/apix'), 'deny');
    assert.equal(at('/files/a.pdf'), 'allow');
    assert.equal(at('/files/x/a.pdf'), 'deny');
  });
  it('refuses to judge a path that is not normalized, even for rules that do not match it', () => {
    const p = { allow: [{ authenticated: true }], deny: [{ paths: ['/admin/**'] }] };
    for (const path of [
      '//admin/x',
      '/a/../admin/x',
      '/./admin',
      '/admin\\x',
      '/admin/%00\u0000',
      'admin',
    ]) {
      const d = decide(p, sample({ request: { method: 'GET', path } }));
      assert.equal(d.decision, 'deny', path);
      assert.equal(d.reasons[0]?.code, 'input-invalid', path);
    }
    assert.equal(verdict(p, sample({ request: { method: 'GET', path: '/admin/' } })), 'deny');
    assert.equal(verdict(p, sample({ request: { method: 'GET', path: '/app/' } })), 'allow');
  });
  it('rejects malformed patterns', () => {
    assert.deepEqual(errorsOf({ allow: [{ paths: ['api/**'] }] }), ['ZT_POLICY_INVALID_GLOB']);
    assert.deepEqual(errorsOf({ allow: [{ paths: ['/a**/b'] }] }), ['ZT_POLICY_INVALID_GLOB']);
  });
});

describe('time', () => {
  const p = {
    allow: [
      { authenticated: true, time: { days: 'mon-fri', hours: '09:00-17:00', tz: 'Europe/Berlin' } },
    ],
  };
  const at = (time: string) => verdict(p, sample({ request: { method: 'GET', path: '/', time } }));
  it('evaluates business hours in the policy time zone', () => {
    assert.equal(at('2026-11-23T08:00:00Z'), 'allow'); // Monday 09:00 in Berlin (UTC+1)
    assert.equal(at('2026-11-23T07:59:59Z'), 'deny');
    assert.equal(at('2026-11-23T16:00:00Z'), 'deny'); // 17:00 is outside (end exclusive)
    assert.equal(at('2026-11-22T10:00:00Z'), 'deny'); // Sunday
  });
  it('follows daylight saving time', () => {
    assert.equal(at('2026-07-06T07:00:00Z'), 'allow'); // Monday 09:00 CEST (UTC+2)
    assert.equal(at('2026-07-06T06:59:00Z'), 'deny');
  });
  it('reports the window in the reason', () => {
    const d = decide(
      p,
      sample({ request: { method: 'GET', path: '/', time: '2026-11-22T10:00:00Z' } }),
    );
    assert.equal(d.reasons[0]?.code, 'time-not-allowed');
    assert.match(d.reasons[0]?.message ?? '', /09:00-17:00/);
  });
  it('rejects malformed windows with the right code', () => {
    assert.deepEqual(
      errorsOf({ allow: [{ time: { tz: 'Mars/Olympus', hours: '09:00-17:00' } }] }),
      ['ZT_POLICY_INVALID_TIME_ZONE'],
    );
    assert.ok(
      errorsOf({ allow: [{ time: { hours: '25:00-26:00' } }] }).includes('ZT_POLICY_INVALID_TIME'),
    );
  });
});

describe('source_ip, countries and risk', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses', () => {
    const p = { allow: [{ authenticated: true, source_ip: ['10.0.0.0/8', '2001:db8::/32'] }] };
    const from = (ip: string) =>
      verdict(p, sample({ request: { method: 'GET', path: '/', source_ip: ip } }));
    assert.equal(from('10.1.2.3'), 'allow');
    assert.equal(from('::ffff:10.1.2.3'), 'allow');
    assert.equal(from('2001:db8::1'), 'allow');
    assert.equal(from('11.0.0.1'), 'deny');
    assert.equal(from('not-an-ip'), 'deny');
    assert.deepEqual(errorsOf({ allow: [{ source_ip: ['10.0.0.1/8'] }] }), [
      'ZT_POLICY_INVALID_CIDR',
    ]);
    assert.deepEqual(errorsOf({ allow: [{ source_ip: ['300.0.0.0/8'] }] }), [
      'ZT_POLICY_INVALID_CIDR',
    ]);
  });
  it('warns when an allow rule trusts the network alone', () => {
    const { problems } = compileProblems({ allow: [{ source_ip: ['10.0.0.0/8'] }] });
    assert.deepEqual(problems, ['warning ZT_POLICY_NETWORK_ONLY']);
    assert.deepEqual(
      compileProblems({ allow: [{ source_ip: ['10.0.0.0/8'], groups: ['x'] }] }).problems,
      [],
    );
  });
  it('countries are ISO codes, compared without case', () => {
    const p = { allow: [{ authenticated: true, countries: ['de', 'FR'] }] };
    assert.equal(verdict(p, sample()), 'allow');
    assert.equal(
      verdict(p, sample({ request: { method: 'GET', path: '/', country: 'us' } })),
      'deny',
    );
    assert.deepEqual(codes(p, sample({ request: { method: 'GET', path: '/' } })), [
      'input-missing',
    ]);
    assert.deepEqual(errorsOf({ allow: [{ countries: ['Germany'] }] }), [
      'ZT_POLICY_INVALID_COUNTRY',
    ]);
  });
  it('risk ranges are inclusive; unknown risk never satisfies', () => {
    const deny = { allow: [{ authenticated: true }], deny: [{ risk: { min: 70 } }] };
    assert.equal(verdict(deny, sample({ risk: { score: 70 } })), 'deny');
    assert.equal(verdict(deny, sample({ risk: { score: 69.9 } })), 'allow');
    const allow = { allow: [{ authenticated: true, risk: { max: 40 } }] };
    assert.deepEqual(codes(allow, sample({ risk: { score: 41 } })), ['risk-too-high']);
    assert.deepEqual(codes(allow, sample({ risk: undefined })), ['risk-unknown']);
    assert.deepEqual(codes(allow, sample({ risk: { score: Number.NaN } })), ['risk-unknown']);
    assert.deepEqual(errorsOf({ allow: [{ risk: { min: -1 } }] }), ['ZT_POLICY_INVALID_RANGE']);
    assert.deepEqual(errorsOf({ allow: [{ risk: { min: 50, max: 10 } }] }), [
      'ZT_POLICY_INVALID_RANGE',
    ]);
  });
});

describe('client_cert', () => {
  const fp = 'ab'.repeat(32);
  it('true needs any verified certificate; absence is a plain failure', () => {
    const p = { allow: [{ client_cert: true as const }] };
    assert.equal(verdict(p, { client_cert: { fingerprint: fp } }), 'allow');
    assert.deepEqual(codes(p, {}), ['client-cert-missing']);
    assert.equal(
      verdict({ allow: [{ authenticated: true, not: { client_cert: true as const } }] }, sample()),
      'allow',
    );
  });
  it('spiffe_id globs and fingerprints (colons and case ignored)', () => {
    const p = { allow: [{ client_cert: { spiffe_id: 'spiffe://example.org/ns/prod/*' } }] };
    assert.equal(
      verdict(p, { client_cert: { spiffe_id: 'spiffe://example.org/ns/prod/api' } }),
      'allow',
    );
    assert.equal(
      verdict(p, { client_cert: { spiffe_id: 'spiffe://example.org/ns/dev/api' } }),
      'deny',
    );
    const q = {
      allow: [{ client_cert: { fingerprint: fp.toUpperCase().match(/../g)?.join(':') ?? '' } }],
    };
    assert.equal(verdict(q, { client_cert: { fingerprint: fp } }), 'allow');
    assert.deepEqual(errorsOf({ allow: [{ client_cert: { fingerprint: 'abc' } }] }), [
      'ZT_POLICY_INVALID_VALUE',
    ]);
    assert.deepEqual(errorsOf({ allow: [{ client_cert: { spiffe_id: 'https://x' } }] }), [
      'ZT_POLICY_INVALID_GLOB',
    ]);
  });
});

describe('combinators and decisions', () => {
  it('deny wins over allow, and nothing matching denies', () => {
    const p = { allow: [{ authenticated: true }], deny: [{ groups: ['engineering'] }] };
    const d = decide(p, sample());
    assert.equal(d.decision, 'deny');
    assert.equal(d.rule, 'deny[0]');
    assert.equal(d.reasons[0]?.code, 'rule-denied');
    assert.equal(verdict({ allow: [] }, sample()), 'deny');
    assert.deepEqual(codes({}, sample()), ['no-allow-rules']);
  });
  it('any, all and not nest', () => {
    const p = {
      allow: [
        {
          any: [
            { groups: ['hr'] },
            { all: [{ groups: ['engineering'] }, { not: { countries: ['RU'] } }] },
          ],
        },
      ],
    };
    assert.equal(verdict(p, sample()), 'allow');
    assert.equal(
      verdict(p, sample({ request: { method: 'GET', path: '/', country: 'RU' } })),
      'deny',
    );
    // A failing `any:` reports its first branch's reason; a failing `all:` its failing member's.
    assert.deepEqual(codes(p, sample({ request: { method: 'GET', path: '/', country: 'RU' } })), [
      'group-not-allowed',
    ]);
    const q = { allow: [{ all: [{ groups: ['engineering'] }, { not: { countries: ['RU'] } }] }] };
    assert.deepEqual(codes(q, sample({ request: { method: 'GET', path: '/', country: 'RU' } })), [
      'condition-negated',
    ]);
  });
  it('not keeps unknown unknown: missing facts never grant access', () => {
    const p = { allow: [{ not: { groups: ['contractors'] } }] };
    assert.equal(verdict(p, anon), 'login');
    const q = { allow: [{ authenticated: true, not: { risk: { min: 70 } } }] };
    assert.equal(verdict(q, sample({ risk: undefined })), 'deny');
    assert.equal(verdict(q, sample()), 'allow');
  });
  it('login is only offered when signing in could help', () => {
    const p = { allow: [{ groups: ['engineering'], paths: ['/admin/**'] }] };
    assert.equal(
      verdict(p, sample({ user: undefined, request: { method: 'GET', path: '/admin/x' } })),
      'login',
    );
    assert.equal(
      verdict(p, sample({ user: undefined, request: { method: 'GET', path: '/public' } })),
      'deny',
    );
  });
  it('reasons list every allow rule in order', () => {
    const d = decide({ allow: [{ groups: ['hr'] }, { users: ['bob@example.com'] }] }, sample());
    assert.deepEqual(
      d.reasons.map((r) => [r.rule, r.code]),
      [
        ['allow[0]', 'group-not-allowed'],
        ['allow[1]', 'user-not-allowed'],
      ],
    );
  });
  it('empty rules are errors', () => {
    assert.deepEqual(errorsOf({ allow: [{}] }), ['ZT_POLICY_EMPTY_RULE']);
  });
  it('allowed decisions are shared frozen objects (no allocation on the hot path)', () => {
    const { compiled } = compileProblems({ allow: [{ authenticated: true }] });
    const a = compiled.evaluate(sample());
    assert.equal(a, compiled.evaluate(sample()));
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.reasons));
  });
  it('garbage input never throws', () => {
    const p = {
      allow: [
        {
          groups: ['x'],
          device: { posture: { a: 1 } },
          mfa: { max_age: '1m' },
          claims: { c: 1 },
          time: { days: 'mon' },
        },
      ],
    };
    for (const input of [
      {},
      { user: null },
      { user: 5 },
      { device: [] },
      { request: 'x' },
      { session: { mfa: 'x' } },
      { risk: 'high' },
    ]) {
      assert.notEqual(verdict(p, input as never), 'allow');
    }
  });
});

import { compile } from '../test-helpers/decide.js';
function compileProblems(policy: Parameters<typeof compile>[0]) {
  const { compiled, problems } = compile(policy);
  return { compiled, problems: problems.map((p) => `${p.severity} ${p.code}`) };
}

describe('regressions', () => {
  const staleMfa = { session: { id: 's', mfa: { methods: ['totp'], at: '2026-11-22T08:00:00Z' } } };
  it('step-up is not offered while another fact the rule needs is unknown', () => {
    const p = { allow: [{ device: { managed: true }, mfa: { max_age: '30m' } }] };
    assert.deepEqual(codes(p, sample({ ...staleMfa, device: undefined })), ['device-missing']);
    assert.equal(verdict(p, sample({ ...staleMfa, device: undefined })), 'deny');
    assert.equal(verdict(p, sample(staleMfa)), 'step_up');
  });
  it('any: prefers a step-up that would make it hold over an unknown branch', () => {
    const p = { allow: [{ any: [{ device: { managed: true } }, { mfa: { max_age: '5m' } }] }] };
    assert.equal(verdict(p, sample({ ...staleMfa, device: undefined })), 'step_up');
  });
  it('a malformed source address or country is unknown, so not: cannot admit it', () => {
    const ip = { allow: [{ authenticated: true, not: { source_ip: '203.0.113.0/24' } }] };
    assert.equal(verdict(ip, sample({ request: { source_ip: '203.0.113.9 ' } })), 'deny');
    assert.deepEqual(codes(ip, sample({ request: { source_ip: 'x' } })), ['input-invalid']);
    assert.equal(verdict(ip, sample({ request: { source_ip: '198.51.100.1' } })), 'allow');
    const country = { allow: [{ authenticated: true, not: { countries: ['RU'] } }] };
    assert.equal(verdict(country, sample({ request: { country: 'Russia' } })), 'deny');
    assert.equal(verdict(country, sample({ request: { country: 'DE' } })), 'allow');
  });
  it('risk scores outside 0-100 saturate, so a deny rule fires for 150 (was a fail-open)', () => {
    const deny = { allow: [{ authenticated: true }], deny: [{ risk: { min: 70 } }] };
    for (const score of [101, 150, Infinity])
      assert.equal(verdict(deny, sample({ risk: { score } })), 'deny', String(score));
    const p = { allow: [{ authenticated: true, risk: { max: 40 } }] };
    assert.deepEqual(codes(p, sample({ risk: { score: 101 } })), ['risk-too-high']);
    assert.equal(verdict(p, sample({ risk: { score: -5 } })), 'allow');
    assert.deepEqual(codes(p, sample({ risk: { score: Number.NaN } })), ['risk-unknown']);
  });
  it('a user id containing @ can be listed in users', () => {
    assert.equal(verdict({ allow: [{ users: ['svc@ci'] }] }, { user: { id: 'svc@ci' } }), 'allow');
  });
  it('the network-only warning looks inside nested rules', () => {
    const warnings = (p: object) => compileProblems(p).problems;
    assert.deepEqual(warnings({ allow: [{ public: true, source_ip: '10.0.0.0/8' }] }), [
      'warning ZT_POLICY_NETWORK_ONLY',
    ]);
    assert.deepEqual(
      warnings({ allow: [{ any: [{ source_ip: '10.0.0.0/8' }, { countries: 'DE' }] }] }),
      ['warning ZT_POLICY_NETWORK_ONLY'],
    );
    assert.deepEqual(
      warnings({ allow: [{ any: [{ source_ip: '10.0.0.0/8' }, { groups: 'x' }] }] }),
      [],
    );
  });
  it('mfa required: false beside max_age is a warning', () => {
    assert.deepEqual(
      compileProblems({ allow: [{ mfa: { required: false, max_age: '5m' } }] }).problems,
      ['warning ZT_POLICY_INVALID_VALUE'],
    );
  });
});
