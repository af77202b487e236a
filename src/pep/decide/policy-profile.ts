/**
 * What a compiled policy reads from the decision input, found once per policy by walking its AST.
 * The decision cache keys on exactly those facts, so a cached decision is the one the policy would
 * give again: a request fact the policy tests is in the key, and a policy whose answer moves with
 * the clock (`time:`) is never cached. `mfa.max_age` bounds an entry's life to the moment the MFA
 * grows too old.
 */
import type { CompiledPolicy } from '../../pdp/index.js';
import type { Node, RuleNode } from '../../pdp/lang/ast.js';

export interface PolicyProfile {
  readonly usesPath: boolean;
  readonly usesSourceIp: boolean;
  readonly usesCountry: boolean;
  readonly usesClientCert: boolean;
  readonly usesRisk: boolean;
  /** a `time:` criterion: the decision depends on the clock, never cache it */
  readonly usesTime: boolean;
  /** the smallest `mfa.max_age` in ms, or undefined */
  readonly minMfaMaxAgeMs: number | undefined;
}

const profiles = new WeakMap<CompiledPolicy, PolicyProfile>();

export function profileOf(policy: CompiledPolicy): PolicyProfile {
  let p = profiles.get(policy);
  if (p) return p;
  const acc = {
    usesPath: policy.ast.usesPath,
    usesSourceIp: false,
    usesCountry: false,
    usesClientCert: false,
    usesRisk: false,
    usesTime: false,
    minMfaMaxAgeMs: undefined as number | undefined,
  };
  const visit = (node: Node | RuleNode): void => {
    switch (node.kind) {
      case 'rule':
        node.children.forEach(visit);
        return;
      case 'any':
      case 'all':
        node.rules.forEach(visit);
        return;
      case 'not':
        visit(node.rule);
        return;
      case 'paths':
        acc.usesPath = true;
        return;
      case 'source-ip':
        acc.usesSourceIp = true;
        return;
      case 'countries':
        acc.usesCountry = true;
        return;
      case 'client-cert-present':
      case 'client-cert-spiffe':
      case 'client-cert-fingerprint':
        acc.usesClientCert = true;
        return;
      case 'risk':
        acc.usesRisk = true;
        return;
      case 'time':
        acc.usesTime = true;
        return;
      case 'mfa':
        if (node.maxAgeMs !== undefined) {
          acc.minMfaMaxAgeMs =
            acc.minMfaMaxAgeMs === undefined
              ? node.maxAgeMs
              : Math.min(acc.minMfaMaxAgeMs, node.maxAgeMs);
        }
        return;
      default:
        // identity and device criteria: their facts are in the cache key through the identity
        // and device state
        return;
    }
  };
  for (const r of policy.ast.allow) visit(r.node);
  for (const r of policy.ast.deny) visit(r.node);
  p = Object.freeze(acc);
  profiles.set(policy, p);
  return p;
}
