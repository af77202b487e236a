/** `countries: [DE, FR]` — the request comes from one of these countries (ISO 3166-1 alpha-2). */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import {
  asList,
  child,
  listText,
  locationOf,
  makeReasons,
  report,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { normalizeCountry } from '../match/country.js';
import { requestField } from './facts.js';

export type CountriesNode = Extract<Criterion, { kind: 'countries' }>;

export function parseCountries(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const countries = new Set<string>();
  let ok = true;
  asList(value as string | string[]).forEach((entry, i) => {
    const code = normalizeCountry(entry);
    if (code === undefined) {
      ok = false;
      report(
        ctx,
        (Array.isArray(value) ? child(place, i) : place).path,
        'ZT_POLICY_INVALID_COUNTRY',
        `\`${entry.slice(0, 100)}\` is not an ISO 3166-1 alpha-2 country code`,
        'use two-letter codes such as `DE`, `US`, `GB`',
      );
    } else countries.add(code);
  });
  if (!ok) return [];
  return [
    {
      kind: 'countries',
      countries,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `country ${listText(countries)}`,
      reasons: makeReasons(ctx, place, {
        'input-missing': 'the country the request comes from is unknown',
        'input-invalid': 'the country the request comes from is malformed',
        'country-not-allowed': 'access is not allowed from your current location',
      }),
    },
  ];
}

export function evaluateCountries(node: CountriesNode, input: DecisionInput): Reason | null {
  const country = requestField(input, 'country');
  if (country === undefined) return node.reasons['input-missing'] ?? null;
  if (!/^[A-Za-z]{2}$/.test(country)) return node.reasons['input-invalid'] ?? null;
  return node.countries.has(country) || node.countries.has(country.toUpperCase())
    ? null
    : (node.reasons['country-not-allowed'] ?? null);
}
