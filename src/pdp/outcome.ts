/**
 * How a reason classifies an outcome in the three-valued logic, and what a list of failed allow
 * rules means for the caller. Shared by the compiler and the reference interpreter: this is the
 * vocabulary, not the algorithm (each of them combines outcomes on its own).
 */
import {
  LOGIN_REASONS,
  STEP_UP_REASONS,
  UNKNOWN_REASONS,
  type Decision,
  type Reason,
  type ReasonCode,
} from './decision.js';

/** 0: false (a plain failure), 1: false, but step-up MFA would fix it, 2: unknown (a fact is missing) */
export type FailureClass = 0 | 1 | 2;
export const FALSE = 0;
export const STEP_UP = 1;
export const UNKNOWN = 2;

const CLASS: Record<string, FailureClass> = Object.create(null) as Record<string, FailureClass>;
for (const code of UNKNOWN_REASONS) CLASS[code] = UNKNOWN;
for (const code of STEP_UP_REASONS) CLASS[code] = STEP_UP;

export function failureClass(reason: Reason): FailureClass {
  return CLASS[reason.code] ?? FALSE;
}

/**
 * No allow rule held and no deny rule did: sign in if that could help, else step up if that could
 * help, else deny. `reasons` has one entry per allow rule, in order.
 */
export function decideWithoutAllow(policy: string, reasons: readonly Reason[]): Decision {
  let stepUp = false;
  for (const r of reasons) {
    if (LOGIN_REASONS.has(r.code)) return { decision: 'login', policy, reasons };
    if (STEP_UP_REASONS.has(r.code)) stepUp = true;
  }
  return { decision: stepUp ? 'step_up' : 'deny', policy, reasons };
}

export function policyReason(code: ReasonCode, message: string): Reason {
  return Object.freeze({ code, message });
}
