/**
 * Where the assertion signing keys live in a server: the store's settings, one entry per rotation
 * period (`pep.assertion_key.<slot>`), sealed with the data directory's key so that a copy of the
 * database alone does not let anyone mint identity assertions. Replicas on one PostgreSQL share
 * them; `setIfAbsent` makes the first replica to rotate the one whose key everybody uses.
 */
import type { SecretBox } from '../../identity/secret-box.js';
import type { KeyRingStorage, StoredKey } from '../../pep/assertion/key-ring.js';
import type { SettingsStore } from '../../store/store.js';

const PREFIX = 'pep.assertion_key.';
const AAD = 'ztgate assertion signing key';

export function settingsKeyRingStorage(
  settings: SettingsStore,
  box: SecretBox,
  now: () => number = Date.now,
): KeyRingStorage {
  return {
    async load() {
      const out: StoredKey[] = [];
      for (const [name, sealed] of await settings.list(PREFIX)) {
        const slot = Number(name.slice(PREFIX.length));
        if (!Number.isSafeInteger(slot)) continue;
        const key = JSON.parse(box.open(sealed, `${AAD} ${slot}`)) as StoredKey;
        if (key.slot === slot) out.push(key);
      }
      return out;
    },
    addIfAbsent(key) {
      return settings.setIfAbsent(
        `${PREFIX}${key.slot}`,
        box.seal(JSON.stringify(key), `${AAD} ${key.slot}`),
        now(),
      );
    },
    async remove(slot) {
      await settings.delete(`${PREFIX}${slot}`);
    },
  };
}
