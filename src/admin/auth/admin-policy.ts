/**
 * Who may administer ztgate, written in ztgate's own policy language and decided by the PDP like
 * any route: by default the `admins` group, with MFA within the last 30 minutes, from a managed
 * device. A config policy named `ztgate-admin` (in the file or set through the API) replaces the
 * default.
 */
import type { Route } from '../../config/schema.js';
import {
  buildEngine,
  type Decision,
  type DecisionInput,
  type PolicyEngine,
} from '../../pdp/index.js';
import type { PolicySyntax } from '../../pdp/lang/schema.js';

export const ADMIN_POLICY_NAME = 'ztgate-admin';

export const DEFAULT_ADMIN_POLICY: PolicySyntax = {
  description: 'who may use the admin API (built in; override with a policy named ztgate-admin)',
  allow: [{ groups: ['admins'], mfa: { max_age: '30m' }, device: { managed: true } }],
};

const builtin = buildEngine(
  { policies: { [ADMIN_POLICY_NAME]: DEFAULT_ADMIN_POLICY }, routes: [] },
  () => undefined,
).engine;

/** The admin decision under the policies in force. */
export function adminDecision(engine: PolicyEngine<Route>, input: DecisionInput): Decision {
  return engine.policies.policies.has(ADMIN_POLICY_NAME)
    ? engine.evaluate(ADMIN_POLICY_NAME, input)
    : builtin.evaluate(ADMIN_POLICY_NAME, input);
}
