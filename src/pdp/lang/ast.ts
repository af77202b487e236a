/**
 * The policy AST: what ./parse.ts makes of the validated syntax. Every value is already checked
 * and pre-processed (sets built, CIDRs and globs compiled, durations in ms), and every node carries
 * the reasons it can give, built once here so that evaluation allocates nothing for them.
 */
import type { Reason, ReasonCode } from '../decision.js';
import type { SourceLocation } from '../../shared/source.js';
import type { CidrSet } from '../match/ip.js';
import type { GlobSet } from '../match/glob.js';
import type { TimeWindow } from '../match/time-window.js';

export type Scalar = string | number | boolean;

interface NodeBase {
  /** criterion path inside its rule: `groups`, `device.posture.firewall`, `any[1].mfa` */
  readonly criterion: string;
  readonly at: SourceLocation | undefined;
  /** a short text of what the node requires, for allow/deny explanations */
  readonly describe: string;
  /** the reasons this node can give, by code */
  readonly reasons: Readonly<Partial<Record<ReasonCode, Reason>>>;
}

export type Criterion =
  | (NodeBase & { readonly kind: 'public' })
  | (NodeBase & { readonly kind: 'authenticated' })
  | (NodeBase & {
      readonly kind: 'users';
      readonly ids: ReadonlySet<string>;
      readonly emails: ReadonlySet<string>;
    })
  | (NodeBase & { readonly kind: 'domains'; readonly domains: ReadonlySet<string> })
  | (NodeBase & { readonly kind: 'groups'; readonly groups: ReadonlySet<string> })
  | (NodeBase & {
      readonly kind: 'claim';
      readonly name: string;
      readonly values: readonly Scalar[];
    })
  | (NodeBase & {
      readonly kind: 'mfa';
      /** ms; undefined = any age */
      readonly maxAgeMs: number | undefined;
      readonly methods: ReadonlySet<string> | undefined;
    })
  | (NodeBase & { readonly kind: 'device-known' })
  | (NodeBase & { readonly kind: 'device-managed'; readonly managed: boolean })
  | (NodeBase & { readonly kind: 'device-tier'; readonly tiers: ReadonlySet<string> })
  | (NodeBase & {
      readonly kind: 'device-posture';
      readonly attribute: string;
      readonly check: PostureCheck;
    })
  | (NodeBase & { readonly kind: 'methods'; readonly methods: ReadonlySet<string> })
  | (NodeBase & { readonly kind: 'paths'; readonly globs: GlobSet })
  | (NodeBase & { readonly kind: 'time'; readonly window: TimeWindow })
  | (NodeBase & { readonly kind: 'source-ip'; readonly cidrs: CidrSet })
  | (NodeBase & { readonly kind: 'countries'; readonly countries: ReadonlySet<string> })
  | (NodeBase & { readonly kind: 'risk'; readonly min: number; readonly max: number })
  | (NodeBase & { readonly kind: 'client-cert-present' })
  | (NodeBase & { readonly kind: 'client-cert-spiffe'; readonly patterns: GlobSet })
  | (NodeBase & {
      readonly kind: 'client-cert-fingerprint';
      readonly fingerprints: ReadonlySet<string>;
    });

export type PostureCheck =
  | { readonly op: 'eq'; readonly value: Scalar }
  | { readonly op: 'in'; readonly values: readonly Scalar[] }
  | { readonly op: 'range'; readonly min: number; readonly max: number };

/** A rule: every child must hold (AND). Children are sorted in the canonical evaluation order. */
export interface RuleNode {
  readonly kind: 'rule';
  readonly criterion: string;
  readonly at: SourceLocation | undefined;
  readonly describe: string;
  readonly children: readonly Node[];
}

export type Combinator =
  | (NodeBase & { readonly kind: 'any'; readonly rules: readonly RuleNode[] })
  | (NodeBase & { readonly kind: 'all'; readonly rules: readonly RuleNode[] })
  | (NodeBase & { readonly kind: 'not'; readonly rule: RuleNode });

export type Node = Criterion | Combinator;
export type NodeKind = Node['kind'];

/** A top-level rule of a policy, with the decision outcome it produces when it decides. */
export interface TopRule {
  /** `allow[0]`, `deny[2]` */
  readonly name: string;
  readonly effect: 'allow' | 'deny';
  readonly node: RuleNode;
  /** the reason recorded when this rule decides */
  readonly decidedReason: Reason;
}

export interface PolicyAst {
  readonly name: string;
  readonly at: SourceLocation | undefined;
  readonly description: string | undefined;
  readonly allow: readonly TopRule[];
  readonly deny: readonly TopRule[];
  /** true when any rule tests the path: evaluation then refuses a path that is not normalized */
  readonly usesPath: boolean;
}
