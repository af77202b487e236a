/**
 * Country codes for the `countries` criterion and `request.country`.
 *
 * The list is embedded rather than taken from Intl.DisplayNames, whose region list also holds
 * withdrawn codes (`SU`, `YU`), reservations (`UK`, `EU`, `UN`) and ICU pseudo-regions (`XA`,
 * `ZZ`), and changes with the ICU version Node is built with; a policy must mean the same thing on
 * every host.
 */

/**
 * The 249 officially assigned ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo): user-assigned in ISO
 * terms, but what GeoIP databases and the EU report for Kosovo, so a policy must be able to name
 * it.
 */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ ' +
    'BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ ' +
    'DE DJ DK DM DO DZ ' +
    'EC EE EG EH ER ES ET ' +
    'FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY ' +
    'HK HM HN HR HT HU ' +
    'ID IE IL IM IN IO IQ IR IS IT ' +
    'JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ ' +
    'LA LB LC LI LK LR LS LT LU LV LY ' +
    'MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ ' +
    'NA NC NE NF NG NI NL NO NP NR NU NZ ' +
    'OM ' +
    'PA PE PF PG PH PK PL PM PN PR PS PT PW PY ' +
    'QA ' +
    'RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ ' +
    'TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ ' +
    'UA UG UM US UY UZ ' +
    'VA VC VE VG VI VN VU ' +
    'WF WS ' +
    'XK ' +
    'YE YT ' +
    'ZA ZM ZW'
  ).split(' '),
);

/** The upper-case code if `code` is an assigned country code in any case, else undefined. */
export function normalizeCountry(code: string): string | undefined {
  if (typeof code !== 'string' || code.length !== 2) return undefined;
  // toUpperCase maps some non-ASCII letters to ASCII (`ı` to `I`), so check before trusting it.
  if (!/^[A-Za-z]{2}$/.test(code)) return undefined;
  const upper = code.toUpperCase();
  return COUNTRY_CODES.has(upper) ? upper : undefined;
}
