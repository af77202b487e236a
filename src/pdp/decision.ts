/**
 * Decisions and their reasons. A deny is a value, never a throw: any evaluation error becomes a
 * deny with reason `evaluation-error`.
 *
 * Reason codes are one closed vocabulary shared by the PEP's error pages, the audit log and
 * `ztgate policy eval`. Each code has a class that drives what the PEP does next:
 * - `login`: the user is not signed in and signing in could change the answer;
 * - `step_up`: only fresher or stronger MFA is missing;
 * - `deny` / `allow`: final.
 */
import type { SourceLocation } from '../shared/source.js';

export type Verdict = 'allow' | 'deny' | 'login' | 'step_up';

export const reasonCodes = {
  // the deciding outcome
  'rule-allowed': 'an allow rule held',
  'rule-denied': 'a deny rule held',
  'no-allow-rules': 'the policy has no allow rules, so nothing is allowed',
  'input-invalid': 'the decision input is malformed (for example a path that is not normalized)',
  'evaluation-error': 'evaluation failed; failing closed',
  'policy-unknown': 'no policy by that name',
  // why an allow rule did not hold (the first criterion that failed)
  'user-unauthenticated': 'no signed-in user',
  'user-not-allowed': 'the user is not in the `users` list',
  'domain-not-allowed': "the user's email domain is not in the `domains` list",
  'group-not-allowed': 'the user is in none of the required groups',
  'claim-mismatch': 'an identity claim does not have a required value',
  'mfa-required': 'the session has no multi-factor authentication',
  'mfa-too-old': 'the last multi-factor authentication is older than the policy allows',
  'mfa-method-not-allowed': 'the session was not authenticated with an accepted MFA method',
  'device-missing': 'the request comes from no known device',
  'device-unmanaged': 'the device is not managed',
  'device-tier-insufficient': "the device's trust tier is not one the policy accepts",
  'device-unhealthy': "the device's posture does not meet the policy",
  'device-posture-unknown': 'the device has not reported a posture attribute the policy needs',
  'method-not-allowed': 'the HTTP method is not allowed',
  'path-not-allowed': 'the path is not allowed',
  'time-not-allowed': 'access is not allowed at this time',
  'time-unknown': 'the request time is missing or malformed',
  'source-ip-not-allowed': 'the source address is not in an allowed range',
  'country-not-allowed': 'the request comes from a country that is not allowed',
  'risk-too-high': 'the risk score is above what the policy allows',
  'risk-too-low': 'the risk score is below the range the rule names',
  'risk-unknown': 'no risk score was computed for the request',
  'client-cert-missing': 'no client certificate was presented',
  'client-cert-not-allowed': 'the client certificate is not one the policy accepts',
  'condition-negated': 'a `not:` condition held, so the rule does not',
  'input-missing':
    'the decision input lacks a request fact the rule needs (method, path, address or country)',
} as const;

export type ReasonCode = keyof typeof reasonCodes;

/**
 * Reasons that mean "unknown" rather than "false": a fact the criterion needs is missing. Rules use
 * three-valued logic (true / false / unknown, as SQL's NULL): `not` keeps unknown unknown, so a
 * missing fact can never turn a `not:` into access. A rule that is unknown does not hold.
 */
export const UNKNOWN_REASONS: ReadonlySet<ReasonCode> = new Set([
  'user-unauthenticated',
  'device-missing',
  'device-posture-unknown',
  'time-unknown',
  'risk-unknown',
  'input-missing',
  'input-invalid',
]);

/** Reasons that mean "sign in first". */
export const LOGIN_REASONS: ReadonlySet<ReasonCode> = new Set(['user-unauthenticated']);
/** Reasons that mean "authenticate again with fresher or stronger MFA". */
export const STEP_UP_REASONS: ReadonlySet<ReasonCode> = new Set([
  'mfa-required',
  'mfa-too-old',
  'mfa-method-not-allowed',
]);

/** What step-up must achieve: passed to the IdP as `max_age` and `acr_values`. */
export interface StepUpRequirement {
  /** seconds */
  readonly max_age?: number;
  readonly methods?: readonly string[];
}

export interface Reason {
  readonly code: ReasonCode;
  /** `allow[0]`, `deny[1]`; absent for policy-level reasons */
  readonly rule?: string;
  /** the criterion's key path inside the rule: `device.posture.disk_encrypted`, `any[1].groups` */
  readonly criterion?: string;
  /** a sentence a user may read on an error page and an auditor in the log */
  readonly message: string;
  /** where the rule or criterion is written */
  readonly at?: SourceLocation;
  readonly step_up?: StepUpRequirement;
}

export interface Decision {
  readonly decision: Verdict;
  readonly policy: string;
  /** the rule that decided, for allow and rule-denied decisions */
  readonly rule?: string;
  readonly reasons: readonly Reason[];
}
