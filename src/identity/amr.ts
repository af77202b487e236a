/**
 * Authentication methods: what ID tokens say (`amr`, RFC 8176 names; `acr`) and what a session
 * records for the policy's `mfa.methods` (`session.mfa.methods`).
 *
 * The built-in IdP's ID tokens carry:
 * | sign-in                      | `amr`                   | `acr`                  |
 * |------------------------------|-------------------------|------------------------|
 * | password                     | `pwd`                   | `urn:ztgate:acr:pwd`   |
 * | password + TOTP (or recovery code) | `pwd otp mfa`     | `urn:ztgate:acr:mfa`   |
 * | passkey (user verified)      | `hwk user mfa`          | `phr`                  |
 * | password + passkey           | `pwd hwk user mfa`      | `phr`                  |
 *
 * `phr` is "phishing-resistant" from the OpenID EAP ACR values; `hwk` is RFC 8176's proof of
 * possession of a hardware-secured key; `user` its user presence (the passkey's user verification).
 *
 * A session records MFA methods only when the sign-in used more than a password: each `amr` value
 * that is a second factor, plus a policy-friendly alias (`otp` also records `totp`; `hwk`, `fido`
 * (Microsoft Entra ID) and `webauthn` record `webauthn`, `hwk`). Values that are single factors by
 * themselves (`pwd`, `pin`, `kba`, `user`, `wia`, `fed`) record nothing; `mfa` is kept, so that an
 * IdP that only says `mfa` (Entra ID, Okta) still satisfies `mfa: true`.
 */

export const ACR_PASSWORD = 'urn:ztgate:acr:pwd';
export const ACR_MFA = 'urn:ztgate:acr:mfa';
export const ACR_PHISHING_RESISTANT = 'phr';
export const BUILTIN_ACR_VALUES = [ACR_PASSWORD, ACR_MFA, ACR_PHISHING_RESISTANT] as const;

/** 0 password, 1 two factors, 2 phishing-resistant. */
export function acrLevel(acr: string | undefined): number {
  switch (acr) {
    case ACR_PHISHING_RESISTANT:
    case 'phrh':
      return 2;
    case ACR_MFA:
      return 1;
    default:
      return 0;
  }
}

const SINGLE_FACTOR = new Set([
  'pwd',
  'pin',
  'kba',
  'user',
  'wia',
  'fed',
  'none',
  'rba',
  'geo',
  'tel',
]);
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  otp: ['otp', 'totp'],
  totp: ['otp', 'totp'],
  hwk: ['hwk', 'webauthn'],
  fido: ['fido', 'webauthn'],
  webauthn: ['hwk', 'webauthn'],
  passkey: ['hwk', 'webauthn'],
};

/** The `session.mfa.methods` for an `amr` list: sorted, lower-case, empty without a second factor. */
export function mfaMethodsFromAmr(amr: readonly unknown[] | undefined): string[] {
  const out = new Set<string>();
  for (const v of amr ?? []) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 64) continue;
    const m = v.toLowerCase();
    if (SINGLE_FACTOR.has(m)) continue;
    for (const a of ALIASES[m] ?? [m]) out.add(a);
  }
  return [...out].sort();
}

/** True when the methods include at least one that the policy accepts (case-insensitive). */
export function satisfiesMethods(
  methods: readonly string[],
  wanted: readonly string[] | undefined,
): boolean {
  if (methods.length === 0) return false;
  if (!wanted || wanted.length === 0) return true;
  const have = new Set(methods.map((m) => m.toLowerCase()));
  return wanted.some(
    (w) => have.has(w.toLowerCase()) || (ALIASES[w.toLowerCase()] ?? []).some((a) => have.has(a)),
  );
}

/** The `acr_values` to ask the built-in IdP for, given the methods a step-up needs. */
export function acrForMethods(methods: readonly string[] | undefined): string {
  const phishingResistant = new Set(['webauthn', 'hwk', 'fido', 'passkey', 'phr']);
  if (
    methods &&
    methods.length > 0 &&
    methods.every((m) => phishingResistant.has(m.toLowerCase()))
  ) {
    return ACR_PHISHING_RESISTANT;
  }
  return ACR_MFA;
}
