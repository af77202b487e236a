/**
 * Checks that ztgate and Cedar give the same allow / not-allow answer on the same inputs. The
 * benchmark runs this on every sampled input before timing anything (a speed comparison between
 * policies that mean different things is worthless); test/bench/cedar-equivalence.test.ts runs
 * it on a smaller sample so that a change of semantics on either side fails CI.
 *
 * Only "allow or not" is compared: Cedar has no login / step-up outcomes and no reasons.
 */
import type { CompiledPolicy, DecisionInput, Verdict } from '../../src/pdp/index.js';
import type { CedarAuthorizer } from './authorizer.js';

export interface Sample {
  readonly input: DecisionInput;
  /** what the sample was generated to exercise, for messages */
  readonly scenario?: string;
}

export interface Disagreement {
  readonly index: number;
  readonly scenario: string | undefined;
  readonly ztgate: Verdict;
  readonly cedar: 'allow' | 'deny';
  readonly input: DecisionInput;
}

export interface EquivalenceReport {
  readonly checked: number;
  /** inputs both engines allow */
  readonly allowed: number;
  readonly disagreements: readonly Disagreement[];
}

export function compareEngines(
  policy: CompiledPolicy,
  cedar: CedarAuthorizer,
  samples: readonly Sample[],
): EquivalenceReport {
  const disagreements: Disagreement[] = [];
  let allowed = 0;
  samples.forEach((s, index) => {
    const verdict = policy.evaluate(s.input).decision;
    const cedarAllows = cedar.isAllowed(cedar.request(s.input));
    if ((verdict === 'allow') !== cedarAllows) {
      disagreements.push({
        index,
        scenario: s.scenario,
        ztgate: verdict,
        cedar: cedarAllows ? 'allow' : 'deny',
        input: s.input,
      });
    } else if (cedarAllows) {
      allowed++;
    }
  });
  return { checked: samples.length, allowed, disagreements };
}

export class EquivalenceError extends Error {
  override readonly name = 'EquivalenceError';
}

/** Throws an EquivalenceError that shows the first few disagreements. */
export function assertEquivalent(report: EquivalenceReport, label: string): void {
  const n = report.disagreements.length;
  if (n === 0) return;
  const shown = report.disagreements
    .slice(0, 5)
    .map(
      (d) =>
        `  #${d.index} (${d.scenario ?? 'input'}): ztgate ${d.ztgate}, cedar ${d.cedar}\n    ${JSON.stringify(d.input)}`,
    )
    .join('\n');
  throw new EquivalenceError(
    `ztgate and Cedar disagree on ${n} of ${report.checked} ${label} inputs; ` +
      `the Cedar policy or its request mapping no longer means what the ztgate policy means:\n${shown}`,
  );
}
