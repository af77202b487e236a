/**
 * The PDP benchmark compares ztgate with Cedar on the "engineering" policy; the comparison only
 * means something while both policies mean the same. This test runs the benchmark's equivalence
 * check (bench/cedar/equivalence.ts) on a sample and on boundary cases, so that a change of
 * semantics on either side fails CI instead of silently skewing docs/performance.md.
 * No timings here: those belong to `npm run bench:pdp`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCedarAuthorizer, readCedarFiles } from '../../bench/cedar/authorizer.js';
import { assertEquivalent, compareEngines, type Sample } from '../../bench/cedar/equivalence.js';
import { NotRepresentable, toCedarRequest } from '../../bench/cedar/request.js';
import {
  compileEngineering,
  engineeringInputs,
  withFixedShape,
} from '../../bench/lib/pdp-fixtures.js';
import type { DecisionInput } from '../../src/pdp/index.js';

const engineering = compileEngineering();
const cedar = createCedarAuthorizer();

const NOW = Date.parse('2026-11-22T10:05:00Z');
const MIN = 60_000;

/** The PRODUCT.md example input (allowed), with the MFA at `mfaAt` and overrides. */
function edge(
  mfaAt: number,
  overrides: Partial<Record<keyof DecisionInput, unknown>> = {},
): DecisionInput {
  return {
    user: { id: 'u1', email: 'alice@example.com', groups: ['engineering'], claims: {} },
    session: { id: 's1', mfa: { methods: ['totp'], at: mfaAt } },
    device: {
      id: 'd1',
      managed: true,
      tier: 'high',
      posture: { disk_encrypted: true, firewall: true, os_patch_age_days: 3 },
    },
    request: { method: 'GET', host: 'app.localhost', path: '/x', time: NOW },
    risk: { score: 12, signals: [] },
    ...overrides,
  } as DecisionInput;
}

const posture = (p: Record<string, unknown>) => ({ id: 'd1', managed: true, posture: p });

/** Boundaries of every criterion, and facts that are missing or of the wrong type. */
const EDGES: [string, DecisionInput][] = [
  ['the PRODUCT.md example', edge(NOW - 5 * MIN)],
  ['MFA exactly 30 min old', edge(NOW - 30 * MIN)],
  ['MFA 30 min + 1 ms old', edge(NOW - 30 * MIN - 1)],
  ['MFA 5 min in the future (clock skew)', edge(NOW + 5 * MIN)],
  ['MFA 5 min + 1 ms in the future', edge(NOW + 5 * MIN + 1)],
  ['MFA time missing', edge(NOW, { session: { id: 's1', mfa: { methods: ['totp'] } } })],
  ['MFA methods empty', edge(NOW, { session: { id: 's1', mfa: { methods: [], at: NOW } } })],
  ['no session', edge(NOW, { session: undefined })],
  ['request time missing', edge(NOW, { request: { method: 'GET', path: '/x' } })],
  [
    'ISO times with offsets',
    edge(NOW, {
      session: { id: 's1', mfa: { methods: ['webauthn'], at: '2026-11-22T11:00:00+01:00' } },
      request: { method: 'GET', path: '/x', time: '2026-11-22T12:05:00+02:00' },
    }),
  ],
  [
    'patch age 30 days',
    edge(NOW, { device: posture({ disk_encrypted: true, os_patch_age_days: 30 }) }),
  ],
  [
    'patch age 31 days',
    edge(NOW, { device: posture({ disk_encrypted: true, os_patch_age_days: 31 }) }),
  ],
  [
    'patch age as text',
    edge(NOW, { device: posture({ disk_encrypted: true, os_patch_age_days: '3' }) }),
  ],
  [
    'disk encryption as text',
    edge(NOW, { device: posture({ disk_encrypted: 'true', os_patch_age_days: 3 }) }),
  ],
  [
    'managed not reported',
    edge(NOW, { device: { id: 'd1', posture: { disk_encrypted: true, os_patch_age_days: 3 } } }),
  ],
  [
    'device without id',
    edge(NOW, {
      device: { managed: true, posture: { disk_encrypted: true, os_patch_age_days: 3 } },
    }),
  ],
  ['user without id', edge(NOW, { user: { email: 'alice@example.com', groups: ['engineering'] } })],
  ['user with empty id', edge(NOW, { user: { id: '', groups: ['engineering'] } })],
  ['group names are case-sensitive', edge(NOW, { user: { id: 'u1', groups: ['Engineering'] } })],
  ['a non-string group', edge(NOW, { user: { id: 'u1', groups: [42, 'engineering'] } })],
  ['risk 69', edge(NOW, { risk: { score: 69 } })],
  ['risk 70', edge(NOW, { risk: { score: 70 } })],
  ['risk 100', edge(NOW, { risk: { score: 100 } })],
  // ztgate today reads `risk: {min: 70}` as [70, 100], so a score above 100 does not deny; the Cedar
  // policy mirrors that. If ztgate changes it, change engineering.cedar with it.
  ['risk 101', edge(NOW, { risk: { score: 101 } })],
  ['risk score missing', edge(NOW, { risk: { signals: [] } })],
  ['no risk at all', edge(NOW, { risk: undefined })],
];

describe('ztgate and Cedar agree on the engineering policy (bench/cedar)', () => {
  it('on 200 generated inputs, times as epoch ms and as ISO strings', () => {
    for (const times of ['epoch', 'iso'] as const) {
      const samples = engineeringInputs(100, { seed: 42, times });
      const report = compareEngines(engineering, cedar, samples);
      assertEquivalent(report, times);
      // not vacuous: the sample has both outcomes
      assert.ok(report.allowed > 10, `${times}: only ${report.allowed} allowed`);
      assert.ok(report.allowed < report.checked - 10, `${times}: almost everything allowed`);
    }
  });

  it('on the boundaries of every criterion and on missing or mistyped facts', () => {
    const samples: Sample[] = EDGES.map(([scenario, input]) => ({ scenario, input }));
    const report = compareEngines(engineering, cedar, samples);
    assertEquivalent(report, 'boundary');
    const allowed = EDGES.filter(([, i]) => engineering.evaluate(i).decision === 'allow').map(
      ([name]) => name,
    );
    assert.deepEqual(allowed, [
      'the PRODUCT.md example',
      'MFA exactly 30 min old',
      'MFA 5 min in the future (clock skew)',
      'ISO times with offsets',
      'patch age 30 days',
      'a non-string group',
      'risk 69',
      'risk score missing',
      'no risk at all',
    ]);
  });

  it('on inputs with a fixed object shape', () => {
    const samples = engineeringInputs(50, { seed: 7, times: 'epoch' }).map((s) => ({
      ...s,
      input: withFixedShape(s.input),
    }));
    assertEquivalent(compareEngines(engineering, cedar, samples), 'fixed-shape');
  });

  it('detects a Cedar policy that means something else', () => {
    const { policies } = readCedarFiles();
    const looser = createCedarAuthorizer({
      policies: policies.replace('duration("30m")', 'duration("60m")'),
    });
    const samples = engineeringInputs(200, { seed: 42, times: 'epoch' });
    const report = compareEngines(engineering, looser, samples);
    assert.ok(report.disagreements.length > 0);
    assert.ok(
      report.disagreements.every((d) => d.scenario === 'mfa-too-old' && d.cedar === 'allow'),
    );
    assert.throws(() => assertEquivalent(report, 'epoch'), /disagree/);
  });

  it('refuses values Cedar cannot represent instead of rounding them', () => {
    assert.throws(
      () => toCedarRequest(edge(NOW, { risk: { score: 69.5 } }), 'p'),
      NotRepresentable,
    );
  });
});
