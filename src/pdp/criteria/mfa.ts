/**
 * `mfa: true` or `mfa: {required, max_age, methods}` — multi-factor authentication in this session.
 * A failure here is the only kind that leads to a step-up decision, and MFA is evaluated after
 * every other criterion of its rule, so a step-up is offered only when MFA is all that is missing.
 *
 * Boundaries: an MFA exactly `max_age` old still holds. An MFA time in the future is tolerated up
 * to 5 minutes of clock skew between IdP and gateway; further ahead it is not believed.
 */
import { formatDuration, parseDuration } from '../../shared/duration.js';
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import {
  asList,
  child,
  locationOf,
  makeReasons,
  report,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { parseInstant } from '../match/instant.js';
import { UNAUTHENTICATED_MESSAGE } from './authenticated.js';
import { signedInUser } from './facts.js';

export type MfaNode = Extract<Criterion, { kind: 'mfa' }>;

const MAX_FUTURE_SKEW_MS = 5 * 60_000;

interface MfaSyntax {
  required?: boolean | undefined;
  max_age?: string | undefined;
  methods?: string | string[] | undefined;
}

export function parseMfa(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const spec: MfaSyntax = value === true ? { required: true } : (value as MfaSyntax);
  let maxAgeMs: number | undefined;
  if (spec.max_age !== undefined) {
    maxAgeMs = parseDuration(spec.max_age);
    if (maxAgeMs === undefined) {
      report(
        ctx,
        child(place, 'max_age').path,
        'ZT_POLICY_INVALID_VALUE',
        `\`${spec.max_age}\` is not a duration`,
        'write a duration such as `30m` or `8h`',
      );
    }
  }
  const methods =
    spec.methods === undefined
      ? undefined
      : new Set(asList(spec.methods).map((m) => m.toLowerCase()));
  if (spec.required === false && maxAgeMs === undefined && methods === undefined) {
    report(
      ctx,
      place.path,
      'ZT_POLICY_INVALID_VALUE',
      '`mfa: {required: false}` requires nothing',
      'remove the `mfa` criterion, or say what MFA the rule needs',
      'warning',
    );
    return [];
  }
  if (spec.required === false) {
    report(
      ctx,
      child(place, 'required').path,
      'ZT_POLICY_INVALID_VALUE',
      '`required: false` is ignored: `max_age` and `methods` require MFA',
      'remove `required: false`',
      'warning',
    );
  }
  const parts: string[] = ['MFA'];
  if (methods) parts.push(`with ${[...methods].join(' or ')}`);
  if (maxAgeMs !== undefined) parts.push(`within ${formatDuration(maxAgeMs)}`);
  const describe = parts.join(' ');
  const stepUp = {
    ...(maxAgeMs !== undefined ? { max_age: Math.floor(maxAgeMs / 1000) } : {}),
    ...(methods ? { methods: [...methods] } : {}),
  };
  return [
    {
      kind: 'mfa',
      maxAgeMs,
      methods,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe,
      reasons: makeReasons(
        ctx,
        place,
        {
          'user-unauthenticated': UNAUTHENTICATED_MESSAGE,
          'mfa-required': 'this requires multi-factor authentication',
          'mfa-method-not-allowed': `this requires multi-factor authentication with ${methods ? [...methods].join(' or ') : 'another method'}`,
          'mfa-too-old': `this requires multi-factor authentication within the last ${maxAgeMs === undefined ? '' : formatDuration(maxAgeMs)}`,
          'time-unknown':
            'the time of the request is unknown, so the age of the last multi-factor authentication cannot be checked',
        },
        stepUp,
      ),
    },
  ];
}

export function evaluateMfa(node: MfaNode, input: DecisionInput): Reason | null {
  if (!signedInUser(input)) return node.reasons['user-unauthenticated'] ?? null;
  const mfa = input.session?.mfa;
  const methods = mfa?.methods;
  if (!mfa || !Array.isArray(methods) || methods.length === 0)
    return node.reasons['mfa-required'] ?? null;
  if (node.methods) {
    let found = false;
    for (const m of methods) {
      if (typeof m === 'string' && node.methods.has(m.toLowerCase())) {
        found = true;
        break;
      }
    }
    if (!found) return node.reasons['mfa-method-not-allowed'] ?? null;
  }
  if (node.maxAgeMs !== undefined) {
    const now = input.request?.time === undefined ? undefined : parseInstant(input.request.time);
    if (now === undefined) return node.reasons['time-unknown'] ?? null;
    const at = mfa.at === undefined ? undefined : parseInstant(mfa.at);
    if (at === undefined) return node.reasons['mfa-too-old'] ?? null;
    const age = now - at;
    if (age > node.maxAgeMs || age < -MAX_FUTURE_SKEW_MS)
      return node.reasons['mfa-too-old'] ?? null;
  }
  return null;
}
