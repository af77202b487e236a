/**
 * Signing keys of the identity component (the built-in IdP's ID tokens, the tokens for programs):
 * ES256 key pairs generated here, never the libraries' development keys. They are kept in the store
 * (so every replica signs with the same key) sealed with the data directory's key, under
 * `identity/keys/<purpose>`, newest first: the first key signs, the others still verify.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { SettingsStore } from '../store/store.js';
import type { SecretBox } from './secret-box.js';

export type KeyPurpose = 'idp' | 'token';

export interface SigningKeySet {
  /** private JWKs (with `kid`, `alg`, `use`), newest first */
  readonly keys: readonly JWK[];
}

const MAX_KEYS = 3;

async function newKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: 'ES256', use: 'sig' };
}

function storeKey(purpose: KeyPurpose): string {
  return `identity/keys/${purpose}`;
}

async function read(
  settings: SettingsStore,
  box: SecretBox,
  purpose: KeyPurpose,
): Promise<SigningKeySet | undefined> {
  const key = storeKey(purpose);
  const sealed = await settings.get(key);
  return sealed === undefined ? undefined : (JSON.parse(box.open(sealed, key)) as SigningKeySet);
}

/** The key set for a purpose, generated on first use (replicas starting at once agree on one). */
export async function loadSigningKeys(
  settings: SettingsStore,
  box: SecretBox,
  purpose: KeyPurpose,
  now: () => number = Date.now,
): Promise<SigningKeySet> {
  const existing = await read(settings, box, purpose);
  if (existing && existing.keys.length > 0) return existing;
  const set: SigningKeySet = { keys: [await newKey()] };
  const key = storeKey(purpose);
  if (await settings.setIfAbsent(key, box.seal(JSON.stringify(set), key), now())) return set;
  const winner = await read(settings, box, purpose);
  if (!winner) throw new Error('signing keys vanished while being created');
  return winner;
}

/**
 * Puts a new key first (it signs from the next start) and keeps the previous ones for verification,
 * at most three in all.
 */
export async function rotateSigningKeys(
  settings: SettingsStore,
  box: SecretBox,
  purpose: KeyPurpose,
  now: () => number = Date.now,
): Promise<SigningKeySet> {
  const current = await loadSigningKeys(settings, box, purpose, now);
  const set: SigningKeySet = { keys: [await newKey(), ...current.keys].slice(0, MAX_KEYS) };
  const key = storeKey(purpose);
  await settings.set(key, box.seal(JSON.stringify(set), key), now());
  return set;
}

/** The public half of a key set, as a JWKS document. */
export function publicJwks(set: SigningKeySet): { keys: JWK[] } {
  return {
    keys: set.keys.map((k) => ({
      kty: k.kty,
      crv: k.crv,
      x: k.x,
      y: k.y,
      kid: k.kid,
      alg: k.alg,
      use: 'sig',
    })) as JWK[],
  };
}
