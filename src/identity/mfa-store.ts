/**
 * Second factors of built-in IdP users: a TOTP secret, recovery code hashes and passkeys.
 *
 * The store has no table for them yet, so they live in the SettingsStore, one encrypted record per
 * user under `identity/mfa/<userId>` (sealed with the data directory's key, bound to that key name).
 * One-time use is enforced across replicas with `setIfAbsent` markers: a TOTP time step
 * (`identity/mfa-used/<userId>/totp/<step>`) and a recovery code
 * (`identity/mfa-used/<userId>/recovery/<hash>`) can each be consumed once, even by two requests
 * racing on two replicas. Passkey user handles are indexed by `identity/webauthn-handle/<handle>`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SettingsStore } from '../store/store.js';
import { ZtError } from '../shared/errors.js';
import type { SecretBox } from './secret-box.js';
import {
  hashRecoveryCode,
  looksLikeRecoveryCode,
  matchTotp,
  newRecoveryCodes,
  newTotpSecret,
  TOTP_PERIOD_SECONDS,
  TOTP_WINDOW,
} from './totp.js';

export interface WebAuthnCredentialRecord {
  /** base64url credential id */
  readonly id: string;
  /** base64url COSE public key */
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly backedUp: boolean;
}

export interface MfaRecord {
  readonly v: 1;
  readonly totp: { readonly secret: string; readonly enrolledAt: number } | null;
  /** SHA-256 hashes of the unused recovery codes */
  readonly recovery: readonly string[];
  readonly webauthn: {
    /** base64url of the random WebAuthn user handle (not the user id: it reveals nothing) */
    readonly userHandle: string;
    readonly credentials: readonly WebAuthnCredentialRecord[];
  } | null;
}

export interface MfaSummary {
  readonly totp: boolean;
  readonly recoveryCodesLeft: number;
  readonly passkeys: number;
}

const EMPTY: MfaRecord = { v: 1, totp: null, recovery: [], webauthn: null };
const PREFIX = 'identity/mfa/';
const USED_PREFIX = 'identity/mfa-used/';
const HANDLE_PREFIX = 'identity/webauthn-handle/';
/** TOTP step markers are kept a little longer than a code can be valid. */
const TOTP_MARKER_TTL_MS = (2 * TOTP_WINDOW + 2) * TOTP_PERIOD_SECONDS * 1000;

export function hasSecondFactor(record: MfaRecord): boolean {
  return record.totp !== null || (record.webauthn?.credentials.length ?? 0) > 0;
}

export class MfaStore {
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly settings: SettingsStore,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  async get(userId: string): Promise<MfaRecord> {
    const key = PREFIX + userId;
    const sealed = await this.settings.get(key);
    if (sealed === undefined) return EMPTY;
    const parsed = JSON.parse(this.box.open(sealed, key)) as MfaRecord;
    if (parsed.v !== 1) {
      throw new ZtError('ZT_IDENTITY_SECRET_UNREADABLE', 'an MFA record has an unknown version');
    }
    return parsed;
  }

  async summary(userId: string): Promise<MfaSummary> {
    const r = await this.get(userId);
    return {
      totp: r.totp !== null,
      recoveryCodesLeft: r.recovery.length,
      passkeys: r.webauthn?.credentials.length ?? 0,
    };
  }

  private async put(userId: string, record: MfaRecord): Promise<void> {
    const key = PREFIX + userId;
    await this.settings.set(key, this.box.seal(JSON.stringify(record), key), this.now());
  }

  /** Read-modify-write of one user's record, serialized within this process. */
  private update<T>(
    userId: string,
    work: (r: MfaRecord) => Promise<[MfaRecord | null, T]>,
  ): Promise<T> {
    const previous = this.#locks.get(userId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const [record, result] = await work(await this.get(userId));
      if (record) await this.put(userId, record);
      return result;
    });
    const settled = next.catch(() => undefined);
    this.#locks.set(userId, settled);
    void settled.then(() => {
      if (this.#locks.get(userId) === settled) this.#locks.delete(userId);
    });
    return next;
  }

  /**
   * Enrols TOTP with a new secret (or the one given, confirmed by the user during sign-in) and
   * replaces the recovery codes. Returns the secret and the codes: show them once, never again.
   */
  enrolTotp(
    userId: string,
    options: { secret?: string; replace?: boolean } = {},
  ): Promise<{ secret: string; recoveryCodes: string[] }> {
    return this.update(userId, async (r) => {
      await Promise.resolve();
      if (r.totp && !options.replace) {
        throw new ZtError('ZT_IDENTITY_MFA_ALREADY_ENROLLED', 'the user already has TOTP', {
          help: 'reset it first with `ztgate user mfa reset EMAIL`',
        });
      }
      const secret = options.secret ?? newTotpSecret();
      const recoveryCodes = newRecoveryCodes();
      return [
        {
          ...r,
          totp: { secret, enrolledAt: this.now() },
          recovery: recoveryCodes.map(hashRecoveryCode),
        },
        { secret, recoveryCodes },
      ];
    });
  }

  /** New recovery codes replacing the old ones. */
  regenerateRecoveryCodes(userId: string): Promise<string[]> {
    return this.update(userId, async (r) => {
      await Promise.resolve();
      const codes = newRecoveryCodes();
      return [{ ...r, recovery: codes.map(hashRecoveryCode) }, codes];
    });
  }

  /**
   * True when `code` is the user's current TOTP code and its time step was not used before (by
   * this user, on any replica). A used step is refused: a code seen over a shoulder or phished in
   * real time cannot be replayed.
   */
  async verifyTotp(userId: string, code: string): Promise<boolean> {
    const r = await this.get(userId);
    if (!r.totp) return false;
    const now = this.now();
    const step = matchTotp(r.totp.secret, code, now);
    if (step === undefined) return false;
    return this.settings.setIfAbsent(`${USED_PREFIX}${userId}/totp/${step}`, String(now), now);
  }

  /** True when `code` is one of the user's unused recovery codes; it is used up by this call. */
  async useRecoveryCode(userId: string, code: string): Promise<boolean> {
    if (!looksLikeRecoveryCode(code)) return false;
    const hash = hashRecoveryCode(code);
    const r = await this.get(userId);
    const wanted = Buffer.from(hash, 'hex');
    let found = false;
    for (const h of r.recovery) {
      // constant time per comparison; the list is short and its length is not a secret
      if (timingSafeEqual(Buffer.from(h, 'hex'), wanted)) found = true;
    }
    if (!found) return false;
    const now = this.now();
    if (
      !(await this.settings.setIfAbsent(
        `${USED_PREFIX}${userId}/recovery/${hash}`,
        String(now),
        now,
      ))
    ) {
      return false;
    }
    await this.update(userId, async (cur) => {
      await Promise.resolve();
      return [{ ...cur, recovery: cur.recovery.filter((h) => h !== hash) }, undefined];
    });
    return true;
  }

  /** Removes every second factor of the user (TOTP, recovery codes, passkeys). */
  async reset(userId: string): Promise<void> {
    const r = await this.get(userId);
    if (r.webauthn) await this.settings.delete(HANDLE_PREFIX + r.webauthn.userHandle);
    await this.settings.delete(PREFIX + userId);
    for (const key of (await this.settings.list(`${USED_PREFIX}${userId}/`)).keys()) {
      await this.settings.delete(key);
    }
  }

  /** The user's WebAuthn user handle, created (and indexed) on first use. */
  webauthnUserHandle(userId: string): Promise<string> {
    return this.update(userId, async (r) => {
      if (r.webauthn) return [null, r.webauthn.userHandle];
      const handle = randomBytes(32).toString('base64url');
      await this.settings.set(HANDLE_PREFIX + handle, userId, this.now());
      return [{ ...r, webauthn: { userHandle: handle, credentials: [] } }, handle];
    });
  }

  async userIdForHandle(handle: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(handle)) return undefined;
    return this.settings.get(HANDLE_PREFIX + handle);
  }

  addWebAuthnCredential(
    userId: string,
    credential: Omit<WebAuthnCredentialRecord, 'createdAt' | 'lastUsedAt'>,
  ): Promise<void> {
    return this.update(userId, async (r) => {
      await Promise.resolve();
      if (!r.webauthn) throw new Error('webauthnUserHandle must be called before adding a passkey');
      if (r.webauthn.credentials.some((c) => c.id === credential.id)) {
        throw new ZtError('ZT_IDENTITY_MFA_ALREADY_ENROLLED', 'this passkey is already registered');
      }
      const record: WebAuthnCredentialRecord = {
        ...credential,
        createdAt: this.now(),
        lastUsedAt: null,
      };
      return [
        { ...r, webauthn: { ...r.webauthn, credentials: [...r.webauthn.credentials, record] } },
        undefined,
      ];
    });
  }

  /**
   * Records a passkey use with its new signature counter. Returns false when the counter did not
   * move forward although the authenticator keeps one: a sign of a cloned authenticator.
   */
  recordWebAuthnUse(userId: string, credentialId: string, counter: number): Promise<boolean> {
    return this.update(userId, async (r) => {
      await Promise.resolve();
      const creds = r.webauthn?.credentials ?? [];
      const cred = creds.find((c) => c.id === credentialId);
      if (!r.webauthn || !cred) return [null, false];
      if ((counter !== 0 || cred.counter !== 0) && counter <= cred.counter) return [null, false];
      const updated = creds.map((c) =>
        c.id === credentialId ? { ...c, counter, lastUsedAt: this.now() } : c,
      );
      return [{ ...r, webauthn: { ...r.webauthn, credentials: updated } }, true];
    });
  }

  /** Deletes one-time markers that can no longer matter (TOTP steps older than the window). */
  async sweep(): Promise<number> {
    const cutoff = this.now() - TOTP_MARKER_TTL_MS;
    let n = 0;
    for (const [key, value] of await this.settings.list(USED_PREFIX)) {
      if (key.includes('/totp/') && Number(value) < cutoff) {
        if (await this.settings.delete(key)) n++;
      }
    }
    return n;
  }
}
