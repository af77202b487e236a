/**
 * Fixtures for the policy decision point benchmark and the Cedar equivalence test: the
 * "engineering" policy of PRODUCT.md section 3, compiled the way a config load compiles it, and a
 * deterministic pool of realistic decision inputs that exercises every way that policy can
 * decide (allow, each criterion failing, step-up, not signed in, high risk).
 */
import { buildEngine, type CompiledPolicy, type DecisionInput } from '../../src/pdp/index.js';
import { PolicySchema, type PolicySyntax } from '../../src/pdp/lang/schema.js';
import { Prng } from './prng.js';

/** PRODUCT.md section 3, verbatim. */
export const ENGINEERING_POLICY: PolicySyntax = {
  allow: [
    {
      groups: ['engineering'],
      mfa: { max_age: '30m' },
      device: { managed: true, posture: { disk_encrypted: true, os_patch_age_days: { max: 30 } } },
    },
  ],
  deny: [{ risk: { min: 70 } }],
};

export const noLocation = (): undefined => undefined;

/**
 * Compiles one named policy the way a config load does: schema validation, then `buildEngine`.
 * Throws when the policy has errors.
 */
export function compileNamedPolicy(name: string, syntax: PolicySyntax): CompiledPolicy {
  const policies = { [name]: PolicySchema.parse(syntax) };
  const { engine, problems } = buildEngine({ policies, routes: [] }, noLocation);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`policy ${name} does not compile: ${errors.map((e) => e.message).join('; ')}`);
  }
  const compiled = engine.policies.policies.get(name);
  if (!compiled) throw new Error(`policy ${name} is missing from the engine`);
  return compiled;
}

export function compileEngineering(): CompiledPolicy {
  return compileNamedPolicy('engineering', ENGINEERING_POLICY);
}

/** How the inputs are spread over the ways the engineering policy can decide (weights, sum 100). */
export const ENGINEERING_MIX = {
  allow: 40,
  'allow-no-risk-score': 3,
  'not-in-group': 8,
  'mfa-too-old': 8,
  'mfa-missing': 4,
  'device-unmanaged': 6,
  'device-missing': 4,
  'disk-unencrypted': 5,
  'os-unpatched': 5,
  'posture-unknown': 3,
  'not-signed-in': 7,
  'high-risk': 7,
} as const;

export type Scenario = keyof typeof ENGINEERING_MIX;

/** `epoch`: times as epoch milliseconds (what the proxy passes); `iso`: RFC 3339 strings (JSON). */
export type TimeForm = 'epoch' | 'iso';

export interface SampledInput {
  readonly scenario: Scenario;
  readonly input: DecisionInput;
}

/** 2026-11-22T10:05:00Z, the request time of the PRODUCT.md example. */
const BASE_MS = Date.UTC(2026, 10, 22, 10, 5, 0);
const MINUTE = 60_000;

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function instant(ms: number, form: TimeForm): number | string {
  return form === 'epoch' ? ms : isoSeconds(ms);
}

const ENGINEERING_GROUPS: readonly (readonly string[])[] = [
  ['engineering'],
  ['engineering', 'sre'],
  ['all-staff', 'engineering'],
  ['design', 'engineering', 'oncall'],
  ['all-staff', 'backend', 'engineering', 'platform'],
];
const OTHER_GROUPS: readonly (readonly string[])[] = [
  ['sales'],
  [],
  ['Engineering'],
  ['eng'],
  ['engineering-contractors'],
  ['marketing', 'design'],
];
const MFA_METHODS: readonly (readonly string[])[] = [
  ['totp'],
  ['webauthn'],
  ['pwd', 'totp'],
  ['hwk'],
  ['webauthn', 'totp'],
];
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const PATHS = [
  '/',
  '/x',
  '/api/v1/builds',
  '/api/v1/builds/8812/logs',
  '/dashboard',
  '/static/app.js',
];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'HEAD'];
const COUNTRIES = ['DE', 'US', 'FR', 'GB', 'NL', 'JP'];
const TIERS = ['high', 'medium', 'low'];
const SIGNALS = ['new-device', 'new-country', 'impossible-travel', 'posture-drift'];

interface Draft {
  user:
    | { id?: string; email: string; groups: readonly string[]; claims: Record<string, unknown> }
    | undefined;
  session:
    { id: string; mfa?: { methods: readonly string[]; at?: number } | undefined } | undefined;
  device:
    | {
        id?: string;
        managed?: boolean;
        tier: string;
        posture?: Record<string, boolean | number | string> | undefined;
      }
    | undefined;
  nowMs: number;
  risk: { score?: number; signals: string[] } | undefined;
}

/** A request the engineering policy allows, with realistic variety (and its boundaries). */
function allowedDraft(rng: Prng, n: number): Draft {
  const name = rng.pick(NAMES);
  const nowMs = BASE_MS + rng.int(86_400) * 1000;
  // MFA age: usually 0-30 min; sometimes exactly 30 min; sometimes slightly in the future (IdP clock skew).
  const r = rng.next();
  const ageMs =
    r < 0.08 ? 30 * MINUTE : r < 0.14 ? -rng.between(1, 300) * 1000 : rng.int(1800) * 1000;
  const patch = rng.chance(0.08) ? 30 : rng.int(31);
  const score = rng.chance(0.05) ? 69 : Math.floor(rng.next() ** 2 * 69);
  return {
    user: {
      id: `u${n}`,
      email: `${name}.${n}@example.com`,
      groups: rng.pick(ENGINEERING_GROUPS),
      claims: rng.chance(0.3) ? { department: 'R&D', employee_type: 'full-time' } : {},
    },
    session: { id: `s${n}`, mfa: { methods: rng.pick(MFA_METHODS), at: nowMs - ageMs } },
    device: {
      id: `d${n % 300}`,
      managed: true,
      tier: rng.pick(TIERS),
      posture: {
        disk_encrypted: true,
        firewall: rng.chance(0.9),
        os_patch_age_days: patch,
        edr_running: rng.chance(0.8),
        os: rng.pick(['macos', 'windows', 'linux']),
      },
    },
    nowMs,
    risk: {
      score,
      signals: score > 40 ? [rng.pick(SIGNALS)] : [],
    },
  };
}

/** Turns an allowed draft into one of the scenario's shape. */
function applyScenario(d: Draft, scenario: Scenario, rng: Prng): void {
  switch (scenario) {
    case 'allow':
      return;
    case 'allow-no-risk-score':
      d.risk = rng.chance(0.5) ? undefined : { signals: [] };
      return;
    case 'not-in-group':
      if (d.user) d.user.groups = rng.pick(OTHER_GROUPS);
      return;
    case 'mfa-too-old': {
      const mfa = d.session?.mfa;
      if (!mfa) return;
      const r = rng.next();
      // 30 min + 1 s; 31-59 min; up to 12 h; or too far in the future to believe
      mfa.at =
        r < 0.1
          ? d.nowMs - 30 * MINUTE - 1000
          : r < 0.45
            ? d.nowMs - rng.between(31, 59) * MINUTE
            : r < 0.9
              ? d.nowMs - rng.between(60, 720) * MINUTE
              : d.nowMs + rng.between(301, 3600) * 1000;
      return;
    }
    case 'mfa-missing': {
      const r = rng.next();
      if (r < 0.4) d.session = { id: d.session?.id ?? 's' };
      else if (r < 0.7 && d.session) d.session.mfa = { methods: [] };
      else d.session = undefined;
      return;
    }
    case 'device-unmanaged':
      if (d.device) d.device.managed = false;
      return;
    case 'device-missing':
      if (rng.chance(0.6)) d.device = undefined;
      else if (d.device) d.device.id = '';
      return;
    case 'disk-unencrypted':
      if (d.device?.posture) d.device.posture.disk_encrypted = false;
      return;
    case 'os-unpatched':
      if (d.device?.posture) d.device.posture.os_patch_age_days = rng.between(31, 400);
      return;
    case 'posture-unknown': {
      const device = d.device;
      if (!device) return;
      const r = rng.next();
      if (r < 0.3) device.posture = undefined;
      else if (r < 0.6 && device.posture) delete device.posture.os_patch_age_days;
      else if (r < 0.85 && device.posture) delete device.posture.disk_encrypted;
      else delete device.managed;
      return;
    }
    case 'not-signed-in':
      if (rng.chance(0.6)) {
        d.user = undefined;
        d.session = undefined;
      } else if (d.user) {
        delete d.user.id; // an email without a user id is not a signed-in user
      }
      return;
    case 'high-risk':
      d.risk = {
        score: rng.chance(0.1) ? 70 : rng.between(70, 100),
        signals: ['impossible-travel', 'new-country'],
      };
      return;
  }
}

function materialize(d: Draft, rng: Prng, form: TimeForm): DecisionInput {
  const mfa = d.session?.mfa;
  return {
    ...(d.user ? { user: { ...d.user, groups: [...d.user.groups] } } : {}),
    ...(d.session
      ? {
          session: {
            id: d.session.id,
            ...(mfa
              ? {
                  mfa: {
                    methods: [...mfa.methods],
                    ...(mfa.at !== undefined ? { at: instant(mfa.at, form) } : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(d.device
      ? {
          device: {
            ...d.device,
            ...(d.device.posture ? { posture: { ...d.device.posture } } : {}),
          },
        }
      : {}),
    request: {
      method: rng.pick(METHODS),
      host: 'app.localhost',
      path: rng.pick(PATHS),
      source_ip: `203.0.113.${rng.between(1, 254)}`,
      country: rng.pick(COUNTRIES),
      time: instant(d.nowMs, form),
    },
    ...(d.risk ? { risk: { ...d.risk } } : {}),
  };
}

/**
 * `count` inputs for the engineering policy, drawn from ENGINEERING_MIX. The same seed gives the
 * same requests in both time forms: only the representation of `request.time` and
 * `session.mfa.at` differs.
 */
export function engineeringInputs(
  count: number,
  options: { seed?: number; times: TimeForm },
): SampledInput[] {
  const rng = new Prng(options.seed ?? 20261122);
  const out: SampledInput[] = [];
  for (let n = 0; n < count; n++) {
    const scenario = rng.weighted(ENGINEERING_MIX);
    const draft = allowedDraft(rng, n);
    applyScenario(draft, scenario, rng);
    out.push({ scenario, input: materialize(draft, rng, options.times) });
  }
  return out;
}

/**
 * The same input with one fixed object shape: every key present, in one order, `undefined` when
 * absent. A producer that builds inputs this way (one object literal per level, as a proxy can)
 * lets V8 keep every property read in the PDP monomorphic; the benchmark reports both forms.
 */
export function withFixedShape(input: DecisionInput): DecisionInput {
  const { user, session, device, request, risk, client_cert } = input;
  const mfa = session?.mfa;
  return {
    user:
      user === undefined
        ? undefined
        : { id: user.id, email: user.email, groups: user.groups, claims: user.claims },
    session:
      session === undefined
        ? undefined
        : {
            id: session.id,
            mfa: mfa === undefined ? undefined : { methods: mfa.methods, at: mfa.at },
          },
    device:
      device === undefined
        ? undefined
        : { id: device.id, managed: device.managed, tier: device.tier, posture: device.posture },
    request:
      request === undefined
        ? undefined
        : {
            method: request.method,
            host: request.host,
            path: request.path,
            source_ip: request.source_ip,
            country: request.country,
            time: request.time,
          },
    risk: risk === undefined ? undefined : { score: risk.score, signals: risk.signals },
    client_cert,
  };
}
