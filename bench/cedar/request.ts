/**
 * Maps a ztgate decision input to the Cedar request that engineering.cedar expects.
 *
 * The mapping is the work an adopter of Cedar would write in the proxy: it turns the loosely
 * typed input into Cedar's typed values. It never decides anything the policy decides; where a
 * value cannot hold in ztgate (a missing or mistyped fact), the attribute is left out and the
 * Cedar policy's `has` tests fail the same way. Values Cedar cannot represent faithfully (a
 * fractional risk score or patch age: Cedar has only integers) throw `NotRepresentable` rather
 * than being rounded into a different question.
 */
import type {
  CedarValueJson,
  EntityJson,
  EntityUidJson,
  StatefulAuthorizationCall,
} from '@cedar-policy/cedar-wasm/nodejs';
import type { DecisionInput } from '../../src/pdp/index.js';

export class NotRepresentable extends Error {
  override readonly name = 'NotRepresentable';
}

export const ACTION: EntityUidJson = { type: 'Action', id: 'access' };
const ANONYMOUS: EntityUidJson = { type: 'Anonymous', id: 'anonymous' };

/** RFC 3339 with `Z` or a numeric offset: the instants ztgate accepts as text. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const MAX_EPOCH_MS = 8.64e15;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object';
}

/** A Cedar `datetime` (millisecond precision, as in ztgate), or undefined if not an instant. */
export function cedarDatetime(value: unknown): CedarValueJson | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && RFC3339.test(value)) ms = Date.parse(value);
  else return undefined;
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_EPOCH_MS) return undefined;
  return { __extn: { fn: 'datetime', arg: new Date(ms).toISOString() } };
}

/** A Cedar `Long`, undefined when the value is not a number (ztgate then does not match either). */
function cedarLong(value: unknown, what: string): number | undefined {
  if (typeof value !== 'number' || Number.isNaN(value)) return undefined;
  if (!Number.isSafeInteger(value)) {
    throw new NotRepresentable(`${what} ${value} is not an integer; Cedar has no fractions`);
  }
  return value;
}

function signedInUserId(input: DecisionInput): string | undefined {
  const user: unknown = input.user;
  if (!isObject(user)) return undefined;
  return typeof user.id === 'string' && user.id !== '' ? user.id : undefined;
}

function mfaContext(input: DecisionInput): CedarValueJson | undefined {
  const session: unknown = input.session;
  const mfa = isObject(session) ? session.mfa : undefined;
  if (!isObject(mfa) || !Array.isArray(mfa.methods)) return undefined;
  const at = mfa.at === undefined ? undefined : cedarDatetime(mfa.at);
  return {
    methods: (mfa.methods as unknown[]).map((m) => String(m)),
    ...(at !== undefined ? { at } : {}),
  };
}

function deviceContext(input: DecisionInput): CedarValueJson | undefined {
  const device: unknown = input.device;
  // a known device has a non-empty id
  if (!isObject(device) || typeof device.id !== 'string' || device.id === '') return undefined;
  const out: Record<string, CedarValueJson> = {};
  if (typeof device.managed === 'boolean') out.managed = device.managed;
  const posture = device.posture;
  if (isObject(posture)) {
    if (typeof posture.disk_encrypted === 'boolean') out.disk_encrypted = posture.disk_encrypted;
    const patch = cedarLong(posture.os_patch_age_days, 'os_patch_age_days');
    if (patch !== undefined) out.os_patch_age_days = patch;
  }
  return out;
}

/** The Cedar request for `input`, against the preparsed policy set `policySetId`. */
export function toCedarRequest(
  input: DecisionInput,
  policySetId: string,
): StatefulAuthorizationCall {
  const userId = signedInUserId(input);
  const entities: EntityJson[] = [];
  let principal = ANONYMOUS;
  if (userId !== undefined) {
    principal = { type: 'User', id: userId };
    const groups: unknown = input.user?.groups;
    const parents: EntityUidJson[] = [];
    if (Array.isArray(groups)) {
      for (const g of groups as unknown[]) {
        if (typeof g === 'string') parents.push({ type: 'Group', id: g });
      }
    }
    entities.push({ uid: principal, attrs: {}, parents });
  }
  const context: Record<string, CedarValueJson> = {};
  const now = input.request?.time === undefined ? undefined : cedarDatetime(input.request.time);
  if (now !== undefined) context.now = now;
  const mfa = mfaContext(input);
  if (mfa !== undefined) context.mfa = mfa;
  const device = deviceContext(input);
  if (device !== undefined) context.device = device;
  const risk = cedarLong(input.risk?.score, 'risk score');
  if (risk !== undefined) context.risk = risk;
  const host = input.request?.host;
  return {
    principal,
    action: ACTION,
    resource: { type: 'App', id: typeof host === 'string' ? host : '' },
    context,
    entities,
    preparsedPolicySetId: policySetId,
  };
}
