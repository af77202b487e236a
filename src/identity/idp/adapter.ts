/**
 * Storage for the built-in IdP's artifacts (sessions, interactions, authorization codes, grants,
 * access and refresh tokens) in the store's SettingsStore, so that every replica sees the same
 * state and a restart signs nobody out.
 *
 * - Opaque token values are their ids in oidc-provider; keys hold their SHA-256 only, so a copy of
 *   the database yields no usable code or token. Payloads are sealed with the data directory's key.
 * - Expiry is checked on read; `sweepOidcArtifacts` deletes what has expired.
 * - Indexes: `identity/oidc-uid/<hash>` (session by uid), `identity/oidc-usercode/<hash>`, and
 *   `identity/oidc-grant/<hash(grantId)>/<Model>/<hash(id)>` for revocation by grant.
 *
 * The SettingsStore has no atomic "consume": two replicas redeeming one authorization code at the
 * very same moment could both read it unconsumed. PKCE binds the code to the client's verifier, so
 * only the legitimate client can redeem it at all; a store-level compare-and-set would close this.
 */
import { createHash } from 'node:crypto';
import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import type { SettingsStore } from '../../store/store.js';
import type { SecretBox } from '../secret-box.js';

const PREFIX = 'identity/oidc/';
const UID_PREFIX = 'identity/oidc-uid/';
const USER_CODE_PREFIX = 'identity/oidc-usercode/';
const GRANT_PREFIX = 'identity/oidc-grant/';

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

function h(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

interface Stored {
  readonly payload: AdapterPayload;
  /** ms since the epoch */
  readonly expiresAt: number;
}

export function settingsAdapter(
  settings: SettingsStore,
  box: SecretBox,
  now: () => number = Date.now,
): AdapterConstructor {
  return class SettingsAdapter implements Adapter {
    constructor(private readonly model: string) {}

    private key(id: string): string {
      return `${PREFIX}${this.model}/${h(id)}`;
    }

    private async read(key: string): Promise<Stored | undefined> {
      const sealed = await settings.get(key);
      if (sealed === undefined) return undefined;
      const stored = JSON.parse(box.open(sealed, key)) as Stored;
      return stored.expiresAt <= now() ? undefined : stored;
    }

    private async write(key: string, stored: Stored): Promise<void> {
      await settings.set(key, box.seal(JSON.stringify(stored), key), now());
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const expiresAt = now() + expiresIn * 1000;
      const key = this.key(id);
      await this.write(key, { payload, expiresAt });
      const at = now();
      if (this.model === 'Session' && typeof payload.uid === 'string') {
        await settings.set(UID_PREFIX + h(payload.uid), JSON.stringify({ id, expiresAt }), at);
      }
      if (typeof payload.userCode === 'string') {
        await settings.set(
          USER_CODE_PREFIX + h(payload.userCode),
          JSON.stringify({ id, expiresAt }),
          at,
        );
      }
      if (GRANTABLE.has(this.model) && typeof payload.grantId === 'string') {
        await settings.set(
          `${GRANT_PREFIX}${h(payload.grantId)}/${this.model}/${h(id)}`,
          String(expiresAt),
          at,
        );
      }
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // Clients are static (configured), never stored.
      if (this.model === 'Client') return undefined;
      return (await this.read(this.key(id)))?.payload;
    }

    private async findByIndex(indexKey: string): Promise<AdapterPayload | undefined> {
      const raw = await settings.get(indexKey);
      if (raw === undefined) return undefined;
      const { id } = JSON.parse(raw) as { id: string };
      return this.find(id);
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findByIndex(UID_PREFIX + h(uid));
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findByIndex(USER_CODE_PREFIX + h(userCode));
    }

    async consume(id: string): Promise<void> {
      const key = this.key(id);
      const stored = await this.read(key);
      if (!stored) return;
      await this.write(key, {
        ...stored,
        payload: { ...stored.payload, consumed: Math.floor(now() / 1000) },
      });
    }

    async destroy(id: string): Promise<void> {
      const key = this.key(id);
      const stored = await this.read(key);
      await settings.delete(key);
      if (stored && this.model === 'Session' && typeof stored.payload.uid === 'string') {
        await settings.delete(UID_PREFIX + h(stored.payload.uid));
      }
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const prefix = `${GRANT_PREFIX}${h(grantId)}/`;
      for (const indexKey of (await settings.list(prefix)).keys()) {
        const rest = indexKey.slice(prefix.length); // `<Model>/<hash>`
        await settings.delete(PREFIX + rest);
        await settings.delete(indexKey);
      }
    }
  };
}

/** Deletes expired artifacts and index entries; returns how many records were removed. */
export async function sweepOidcArtifacts(
  settings: SettingsStore,
  box: SecretBox,
  now: () => number = Date.now,
): Promise<number> {
  const t = now();
  let n = 0;
  for (const [key, sealed] of await settings.list(PREFIX)) {
    let expired = true;
    try {
      expired = (JSON.parse(box.open(sealed, key)) as Stored).expiresAt <= t;
    } catch {
      // unreadable (key changed): useless, remove
    }
    if (expired && (await settings.delete(key))) n++;
  }
  for (const prefix of [UID_PREFIX, USER_CODE_PREFIX]) {
    for (const [key, raw] of await settings.list(prefix)) {
      if ((JSON.parse(raw) as { expiresAt: number }).expiresAt <= t && (await settings.delete(key)))
        n++;
    }
  }
  for (const [key, raw] of await settings.list(GRANT_PREFIX)) {
    if (Number(raw) <= t && (await settings.delete(key))) n++;
  }
  return n;
}
