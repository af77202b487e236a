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
  /**
   * The rotation period the key signs in: `floor(createdAt / rotateAfterMs)`. Replicas that rotate
   * at once race to add a key for the same slot; `addIfAbsent` lets exactly one win.
   */
  readonly slot: number;
}

/**
 * Where the keys live. Every method is safe to call from several replicas at once: keys are only
 * ever added (one per slot, first writer wins) or removed, never rewritten, so no replica can
 * overwrite a key another one already signs with.
 */
export interface KeyRingStorage {
  load(): Promise<readonly StoredKey[]>;
  /** stores `key` unless a key for its slot exists; true when this call stored it */
  addIfAbsent(key: StoredKey): Promise<boolean>;
  remove(slot: number): Promise<void>;
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

/**
 * Covers clock skew between replicas and the refresh interval (a replica keeps signing with the
 * previous key until its next refresh, at most a minute later).
 */
const SKEW_MS = 2 * 60_000;

export class KeyRing {
  private keys: readonly StoredKey[] = [];
  private active: ActiveKey | undefined;

  constructor(
    private readonly storage: KeyRingStorage,
    private readonly options: KeyRingOptions,
  ) {}

  /**
   * Loads the keys, adds the current period's key when no replica has yet, and drops retired keys
   * whose assertions have all expired. Call at start and then periodically (every minute).
   */
  async refresh(now: number): Promise<void> {
    const slot = Math.floor(now / this.options.rotateAfterMs);
    let keys = [...(await this.storage.load())].sort((a, b) => a.slot - b.slot);
    if (!keys.some((k) => k.slot >= slot)) {
      await this.storage.addIfAbsent(await newKey(now, slot));
      // whoever won, everyone signs with the stored key
      keys = [...(await this.storage.load())].sort((a, b) => a.slot - b.slot);
    }
    const signer = keys.filter((k) => k.slot <= slot).pop() ?? keys[keys.length - 1];
    if (!signer) throw new Error('key ring has no active key after refresh');
    // A key retired when the next one was created; keep publishing it until its last assertion
    // (signed up to SKEW later by a replica that had not refreshed yet) has expired.
    const keep: StoredKey[] = [];
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as StoredKey;
      const next = keys[i + 1];
      const expired =
        k !== signer &&
        next !== undefined &&
        next.slot <= slot &&
        now - next.createdAt >= this.options.maxTokenTtlMs + SKEW_MS;
      if (expired) await this.storage.remove(k.slot);
      else keep.push(k);
    }
    this.keys = keep;
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

async function newKey(now: number, slot: number): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({
    kty: jwk.kty as string,
    crv: jwk.crv as string,
    x: jwk.x as string,
    y: jwk.y as string,
  });
  return { kid, jwk, createdAt: now, slot };
}

/** Keeps the ring in memory (tests, and single-process tools). */
export class MemoryKeyRingStorage implements KeyRingStorage {
  private readonly keys = new Map<number, StoredKey>();
  load(): Promise<readonly StoredKey[]> {
    return Promise.resolve([...this.keys.values()]);
  }
  addIfAbsent(key: StoredKey): Promise<boolean> {
    if (this.keys.has(key.slot)) return Promise.resolve(false);
    this.keys.set(key.slot, key);
    return Promise.resolve(true);
  }
  remove(slot: number): Promise<void> {
    this.keys.delete(slot);
    return Promise.resolve();
  }
}
