/**
 * The keys that sign `X-Ztgate-Jwt-Assertion`: one active ES256 key, rotated on a schedule, and the
 * retired keys still published in the JWKS until every assertion they signed has expired (an
 * upstream that caches the JWKS must never see a valid token it cannot verify).
 *
 * Keys are kept by a `KeyRingStorage` (the store's settings in a server; memory in tests) as JWKs,
 * so every replica signs with the same active key and publishes the same set.
 */
import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type JWK } from 'jose';

export interface StoredKey {
  readonly kid: string;
  /** private JWK (with `d`) */
  readonly jwk: JWK;
  readonly createdAt: number;
  /** when it stopped signing; undefined while active */
  readonly retiredAt?: number;
}

export interface KeyRingStorage {
  load(): Promise<readonly StoredKey[]>;
  save(keys: readonly StoredKey[]): Promise<void>;
}

export interface KeyRingOptions {
  /** how long a key signs before a new one takes over */
  readonly rotateAfterMs: number;
  /** the longest lifetime of an assertion: retired keys stay published this long (plus skew) */
  readonly maxTokenTtlMs: number;
}

/** What jose's importJWK gives (a WebCrypto CryptoKey on Node). */
export type SigningKey = Awaited<ReturnType<typeof importJWK>>;

export interface ActiveKey {
  readonly kid: string;
  readonly privateKey: SigningKey;
}

const SKEW_MS = 60_000;

export class KeyRing {
  private keys: readonly StoredKey[] = [];
  private active: ActiveKey | undefined;

  constructor(
    private readonly storage: KeyRingStorage,
    private readonly options: KeyRingOptions,
  ) {}

  /**
   * Loads the keys, creates the first one or rotates when due, and drops retired keys whose
   * assertions have all expired. Call at start and then periodically (e.g. every minute).
   */
  async refresh(now: number): Promise<void> {
    let keys = [...(await this.storage.load())];
    let changed = false;
    const current = keys.find((k) => k.retiredAt === undefined);
    if (!current || now - current.createdAt >= this.options.rotateAfterMs) {
      keys = keys.map((k) => (k.retiredAt === undefined ? { ...k, retiredAt: now } : k));
      keys.push(await newKey(now));
      changed = true;
    }
    const keep = keys.filter(
      (k) => k.retiredAt === undefined || now - k.retiredAt < this.options.maxTokenTtlMs + SKEW_MS,
    );
    if (keep.length !== keys.length) changed = true;
    if (changed) await this.storage.save(keep);
    this.keys = keep;
    const signer = keep.find((k) => k.retiredAt === undefined);
    if (!signer) throw new Error('key ring has no active key after refresh');
    if (this.active?.kid !== signer.kid) {
      this.active = {
        kid: signer.kid,
        privateKey: await importJWK(signer.jwk, 'ES256'),
      };
    }
  }

  /** The key that signs now; refresh() must have run. */
  signingKey(): ActiveKey {
    if (!this.active) throw new Error('KeyRing.refresh() has not run');
    return this.active;
  }

  /** Public JWKS of every key an unexpired assertion may carry. */
  jwks(): { keys: JWK[] } {
    return {
      keys: this.keys.map((k) => {
        const { d: _d, ...pub } = k.jwk;
        return { ...pub, kid: k.kid, alg: 'ES256', use: 'sig' };
      }),
    };
  }
}

async function newKey(now: number): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({
    kty: jwk.kty as string,
    crv: jwk.crv as string,
    x: jwk.x as string,
    y: jwk.y as string,
  });
  return { kid, jwk, createdAt: now };
}

/** Keeps the ring in memory (tests, and single-process tools). */
export class MemoryKeyRingStorage implements KeyRingStorage {
  private keys: readonly StoredKey[] = [];
  load(): Promise<readonly StoredKey[]> {
    return Promise.resolve(this.keys);
  }
  save(keys: readonly StoredKey[]): Promise<void> {
    this.keys = keys;
    return Promise.resolve();
  }
}
