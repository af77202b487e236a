/**
 * The engineering policy in Cedar, evaluated with @cedar-policy/cedar-wasm.
 *
 * API choice: `preparsePolicySet(id, policies)` parses the policy set once into the module's
 * (thread-local) cache, and `statefulIsAuthorized({..., preparsedPolicySetId})` evaluates requests
 * against it: the fastest honest path this version offers. What remains per call is inherent to
 * the binding: the request (principal, action, resource, context, entities) crosses from
 * JavaScript into WebAssembly as a JS object that Cedar deserializes, and the answer comes back
 * as a JS object. `isAuthorized` (the stateless API, which parses the policy text on every
 * call) is kept for comparison.
 *
 * The policy set is validated against engineering.cedarschema (strict mode) once at creation.
 * Requests are not validated per call (`validateRequest` is not set and no schema is passed),
 * which is the cheaper configuration.
 */
import { readFileSync } from 'node:fs';
import {
  getCedarVersion,
  isAuthorized,
  preparsePolicySet,
  statefulIsAuthorized,
  validate,
  type AuthorizationAnswer,
  type StatefulAuthorizationCall,
} from '@cedar-policy/cedar-wasm/nodejs';
import type { DecisionInput } from '../../src/pdp/index.js';
import { toCedarRequest } from './request.js';

export const CEDAR_API =
  'preparsePolicySet() once, then statefulIsAuthorized() per request (@cedar-policy/cedar-wasm/nodejs)';

export interface CedarFiles {
  readonly policies: string;
  readonly schema: string;
}

export function readCedarFiles(): CedarFiles {
  const read = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');
  return { policies: read('./engineering.cedar'), schema: read('./engineering.cedarschema') };
}

export interface CedarAuthorizer {
  readonly api: string;
  readonly version: string;
  readonly policySetId: string;
  /** The Cedar request for a ztgate decision input (built outside any timed loop). */
  readonly request: (input: DecisionInput) => StatefulAuthorizationCall;
  /** true when Cedar allows the request; throws on any Cedar error. */
  readonly isAllowed: (call: StatefulAuthorizationCall) => boolean;
  /** The same decision through the stateless API, which re-parses the policy set every call. */
  readonly isAllowedStateless: (call: StatefulAuthorizationCall) => boolean;
}

function messages(errors: readonly { message: string }[]): string {
  return errors.map((e) => e.message).join('; ');
}

function decisionOf(answer: AuthorizationAnswer): boolean {
  if (answer.type !== 'success') throw new Error(`cedar: ${messages(answer.errors)}`);
  const errors = answer.response.diagnostics.errors;
  if (errors.length > 0) {
    // The policy guards every attribute with `has`: an evaluation error means the mapping is wrong.
    throw new Error(`cedar evaluation error: ${messages(errors.map((e) => e.error))}`);
  }
  return answer.response.decision === 'allow';
}

let instances = 0;

/**
 * Validates and preparses the Cedar policy set. `policies` replaces engineering.cedar (tests use
 * it to check that a policy that means something else is caught).
 */
export function createCedarAuthorizer(options: { policies?: string } = {}): CedarAuthorizer {
  const files = readCedarFiles();
  const policies = options.policies ?? files.policies;
  const validation = validate({
    schema: files.schema,
    policies: { staticPolicies: policies },
    validationSettings: { mode: 'strict' },
  });
  if (validation.type !== 'success') {
    throw new Error(`cedar policy set does not parse: ${messages(validation.errors)}`);
  }
  if (validation.validationErrors.length > 0) {
    throw new Error(
      `cedar policy set fails validation: ${messages(validation.validationErrors.map((e) => e.error))}`,
    );
  }
  const policySetId = `ztgate-bench-${++instances}`;
  const parsed = preparsePolicySet(policySetId, { staticPolicies: policies });
  if (parsed.type !== 'success')
    throw new Error(`cedar preparse failed: ${messages(parsed.errors)}`);
  return {
    api: CEDAR_API,
    version: getCedarVersion(),
    policySetId,
    request: (input) => toCedarRequest(input, policySetId),
    isAllowed: (call) => decisionOf(statefulIsAuthorized(call)),
    isAllowedStateless: (call) =>
      decisionOf(
        isAuthorized({
          principal: call.principal,
          action: call.action,
          resource: call.resource,
          context: call.context,
          entities: call.entities,
          policies: { staticPolicies: policies },
        }),
      ),
  };
}
