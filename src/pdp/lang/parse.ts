/**
 * From validated policy syntax (src/pdp/lang/schema.ts) to the AST, checking what a schema cannot:
 * CIDRs, globs, time zones, ranges, empty rules, nesting depth. Problems are collected with their
 * source locations; a policy with errors still yields an AST (with the bad criteria left out) so
 * that one run reports every mistake, but callers must not evaluate it.
 */
import type { Problem } from '../../shared/errors.js';
import type { KeyPath, Locate } from '../../shared/source.js';
import type { Reason } from '../decision.js';
import { CREDENTIAL_KINDS, NETWORK_KINDS, ORDER, parsers } from '../criteria/index.js';
import type { Node, PolicyAst, RuleNode, TopRule } from './ast.js';
import { child, locationOf, report, type ParseContext, type Place } from './context.js';
import { CRITERION_KEYS, type CriterionKey, type PolicySyntax, type RuleSyntax } from './schema.js';

/** Combinators (`any`/`all`/`not`) may nest this deep; policies deeper than this are a mistake. */
export const MAX_NESTING = 32;

const CRITERIA: ReadonlySet<string> = new Set(CRITERION_KEYS);

export interface PolicyParse {
  readonly ast: PolicyAst;
  readonly problems: readonly Problem[];
}

/**
 * Parses one policy. `path` is the policy's key path in its document (`['policies', 'eng']`),
 * used with `locate` to give every node and problem its file position.
 */
export function parsePolicy(
  name: string,
  syntax: PolicySyntax,
  path: KeyPath,
  locate: Locate,
): PolicyParse {
  const problems: Problem[] = [];
  let usesPath = false;
  const topRules = (effect: 'allow' | 'deny'): TopRule[] =>
    (syntax[effect] ?? []).flatMap((rule, i) => {
      const ruleName = `${effect}[${i}]`;
      const ctx: ParseContext = { policy: name, rule: ruleName, locate, problems };
      const place: Place = { path: [...path, effect, i], criterion: '' };
      const node = parseRule(rule, place, ctx, 0);
      if (!node) return [];
      if (mentions(node, 'paths')) usesPath = true;
      if (effect === 'allow') warnIfNetworkOnly(node, place, ctx);
      const at = locationOf(ctx, place);
      const decidedReason: Reason = Object.freeze({
        code: effect === 'allow' ? 'rule-allowed' : 'rule-denied',
        rule: ruleName,
        message: `${effect === 'allow' ? 'allowed' : 'denied'} by ${name} ${ruleName}: ${node.describe}`,
        ...(at ? { at } : {}),
      });
      return [{ name: ruleName, effect, node, decidedReason }];
    });
  const allow = topRules('allow');
  const deny = topRules('deny');
  const ast: PolicyAst = {
    name,
    at: locate(path),
    description: syntax.description,
    allow,
    deny,
    usesPath,
  };
  return { ast, problems };
}

function parseRule(
  syntax: RuleSyntax,
  place: Place,
  ctx: ParseContext,
  depth: number,
): RuleNode | undefined {
  if (depth > MAX_NESTING) {
    report(
      ctx,
      place.path,
      'ZT_POLICY_INVALID_VALUE',
      `\`any\`/\`all\`/\`not\` nest more than ${MAX_NESTING} levels deep`,
      'flatten the rule: a policy this deep cannot be reviewed',
    );
    return undefined;
  }
  const children: Node[] = [];
  const keys = Object.keys(syntax) as (keyof RuleSyntax)[];
  let invalid = false;
  for (const key of keys) {
    const value = syntax[key];
    if (value === undefined) continue;
    const here = child(place, key);
    const before = ctx.problems.length;
    if (CRITERIA.has(key)) {
      children.push(...parsers[key as CriterionKey](value, here, ctx));
    } else if (key === 'any' || key === 'all') {
      const rules = (value as RuleSyntax[]).flatMap((r, i) => {
        const n = parseRule(r, child(here, i), ctx, depth + 1);
        return n ? [n] : [];
      });
      if (rules.length > 0) {
        const describe = `${key} of (${rules.map((r) => r.describe).join('; ')})`;
        children.push({
          kind: key,
          rules,
          criterion: here.criterion,
          at: locationOf(ctx, here),
          describe,
          reasons: {},
        });
      }
    } else if (key === 'not') {
      const rule = parseRule(value as RuleSyntax, here, ctx, depth + 1);
      if (rule) {
        const at = locationOf(ctx, here);
        children.push({
          kind: 'not',
          rule,
          criterion: here.criterion,
          at,
          describe: `not (${rule.describe})`,
          reasons: Object.freeze({
            'condition-negated': Object.freeze({
              code: 'condition-negated' as const,
              rule: ctx.rule,
              criterion: here.criterion,
              message: `this is not allowed when ${rule.describe}`,
              ...(at ? { at } : {}),
            }),
          }),
        });
      }
    }
    if (ctx.problems.slice(before).some((p) => p.severity === 'error')) invalid = true;
  }
  if (children.length === 0) {
    if (!invalid) {
      report(
        ctx,
        place.path,
        'ZT_POLICY_EMPTY_RULE',
        'this rule has no criteria',
        'say what the rule requires, e.g. `groups: [engineering]`; write `public: true` to admit everyone',
      );
    }
    return undefined;
  }
  // A stable sort: equal kinds keep their written order.
  children.sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);
  return {
    kind: 'rule',
    criterion: place.criterion,
    at: locationOf(ctx, place),
    describe: children.map((c) => c.describe).join(', '),
    children,
  };
}

function mentions(rule: RuleNode, kind: Node['kind']): boolean {
  return kindsIn(rule).has(kind);
}

/** Every node kind used anywhere in a rule, nested rules included. */
function kindsIn(rule: RuleNode, into = new Set<Node['kind']>()): Set<Node['kind']> {
  for (const c of rule.children) {
    into.add(c.kind);
    if (c.kind === 'any' || c.kind === 'all') for (const r of c.rules) kindsIn(r, into);
    else if (c.kind === 'not') kindsIn(c.rule, into);
  }
  return into;
}

/**
 * Zero trust: an address range is a signal, never a credential. Warns when a rule tests the network
 * somewhere and asks for no credential anywhere (no identity, device, MFA or certificate).
 */
function warnIfNetworkOnly(rule: RuleNode, place: Place, ctx: ParseContext): void {
  const kinds = [...kindsIn(rule)];
  if (kinds.some((k) => NETWORK_KINDS.has(k)) && !kinds.some((k) => CREDENTIAL_KINDS.has(k))) {
    report(
      ctx,
      place.path,
      'ZT_POLICY_NETWORK_ONLY',
      'this allow rule grants access on network location alone',
      'add an identity or device criterion (e.g. `authenticated: true`, `groups`, `device`); `source_ip` and `countries` are signals, not credentials',
      'warning',
    );
  }
}
