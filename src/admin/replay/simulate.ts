/**
 * The what-if simulator: replays recent access records against the routes and policies in force
 * (the baseline) and against a draft, with the same rebuilt facts (./facts.ts), and reports the
 * requests whose decision the draft changes.
 *
 * Comparing the draft with a replay of the config in force, not with the decision recorded at the
 * time, isolates the draft's effect from what the replay had to approximate (groups and device
 * posture as they are now, MFA from the session record). How often the baseline replay disagrees
 * with what was recorded is reported as `drift`: a measure of how far to trust the answer.
 */
import type { AuditRecord } from '../../audit/record.js';
import type { Route } from '../../config/schema.js';
import type { Decision, PolicyEngine, Verdict } from '../../pdp/index.js';
import { replayInput, type Approximation, type FactCache } from './facts.js';

export interface ReplayedDecision {
  readonly decision: Verdict | 'no-route';
  readonly policy: string | null;
  readonly rule: string | null;
  readonly reasons: readonly { readonly code: string; readonly message: string }[];
}

export interface ChangedRequest {
  readonly request_id: string | null;
  readonly time: string;
  readonly user_id: string | null;
  readonly email: string | null;
  readonly device_id: string | null;
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly recorded: string | null;
  readonly before: ReplayedDecision;
  readonly after: ReplayedDecision;
  readonly approximations: readonly Approximation[];
}

export interface SimulationResult {
  /** access records read from the log (newest first) */
  readonly scanned: number;
  /** records that could be replayed (an access record with a route) */
  readonly replayed: number;
  readonly changed: number;
  /** allowed before, refused (deny, login or step-up) with the draft */
  readonly newly_denied: number;
  /** refused before, allowed with the draft */
  readonly newly_allowed: number;
  /** baseline replays that differ from the decision recorded at the time */
  readonly drift: number;
  /** the oldest and newest replayed record */
  readonly from: string | null;
  readonly until: string | null;
  /** the changed requests, newest first, at most `maxChanged` */
  readonly requests: readonly ChangedRequest[];
  readonly truncated: boolean;
}

/** How one engine decides a rebuilt request: the route it matches, then that route's policy. */
export function decideWith(
  engine: PolicyEngine<Route>,
  host: string,
  path: string,
  input: Parameters<PolicyEngine<Route>['evaluate']>[1],
): ReplayedDecision {
  const route = engine.routes.match(host, path);
  if (!route) {
    return {
      decision: 'no-route',
      policy: null,
      rule: null,
      reasons: [{ code: 'no-route', message: 'no route serves this host and path' }],
    };
  }
  const policy = engine.policyFor(route);
  const d: Decision = policy
    ? policy.evaluate(input)
    : engine.evaluate(typeof route.policy === 'string' ? route.policy : '', input);
  return summarize(d);
}

export function summarize(d: Decision): ReplayedDecision {
  const seen = new Set<string>();
  const reasons: { code: string; message: string }[] = [];
  for (const r of d.reasons) {
    const key = `${r.code}\u0000${r.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    reasons.push({ code: r.code, message: r.message });
    if (reasons.length === 8) break;
  }
  return { decision: d.decision, policy: d.policy, rule: d.rule ?? null, reasons };
}

const allowed = (d: ReplayedDecision | string | null): boolean =>
  (typeof d === 'string' ? d : d?.decision) === 'allow';

export async function simulate(
  records: readonly AuditRecord[],
  baseline: PolicyEngine<Route>,
  draft: PolicyEngine<Route>,
  facts: FactCache,
  options: { readonly maxChanged: number },
): Promise<SimulationResult> {
  let replayed = 0;
  let changed = 0;
  let newlyDenied = 0;
  let newlyAllowed = 0;
  let drift = 0;
  let from: string | null = null;
  let until: string | null = null;
  const requests: ChangedRequest[] = [];
  for (const record of records) {
    const rebuilt = await replayInput(record, facts);
    if (!rebuilt) continue;
    replayed++;
    until ??= record.time;
    from = record.time;
    const before = decideWith(baseline, rebuilt.host, rebuilt.path, rebuilt.input);
    const after = decideWith(draft, rebuilt.host, rebuilt.path, rebuilt.input);
    const recorded = typeof record.decision === 'string' ? record.decision : null;
    if (recorded !== null && recorded !== before.decision) drift++;
    if (before.decision === after.decision) continue;
    changed++;
    if (allowed(before) && !allowed(after)) newlyDenied++;
    if (!allowed(before) && allowed(after)) newlyAllowed++;
    if (requests.length < options.maxChanged) {
      requests.push({
        request_id: record.request_id ?? null,
        time: record.time,
        user_id: record.actor?.user ?? null,
        email: record.actor?.email ?? null,
        device_id: record.actor?.device ?? null,
        route: record.route ?? '',
        method: record.method ?? '',
        path: rebuilt.path,
        recorded,
        before,
        after,
        approximations: rebuilt.approximations,
      });
    }
  }
  return {
    scanned: records.length,
    replayed,
    changed,
    newly_denied: newlyDenied,
    newly_allowed: newlyAllowed,
    drift,
    from,
    until,
    requests,
    truncated: changed > requests.length,
  };
}
