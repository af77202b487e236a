/**
 * A signed-in session made directly in a server's store, as a completed sign-in would leave it, for
 * tests that are about what happens after sign-in (revocation across replicas, workers, load). The
 * data directory's identity key seals it, so the running server can read it.
 */
import { loadIdentityKey } from '../../src/identity/secret-box.js';
import { SessionManager } from '../../src/identity/session/session-manager.js';
import { UserAdmin } from '../../src/identity/users.js';
import type { Store } from '../../src/store/store.js';

export interface SessionOptions {
  readonly groups?: readonly string[];
  /** MFA methods done at sign-in (`['totp']`); none by default */
  readonly mfa?: readonly string[];
}

/** Adds the user if missing and returns the `Cookie` header value of a new session. */
export async function signedInCookie(
  store: Store,
  dataDir: string,
  email: string,
  options: SessionOptions = {},
): Promise<string> {
  const user =
    (await store.users.getByEmail(email)) ??
    (await new UserAdmin({ users: store.users }).add({
      email,
      groups: [...(options.groups ?? [])],
    }));
  const sessions = new SessionManager({
    sessions: store.sessions,
    users: store.users,
    settings: store.settings,
    devices: store.devices,
    box: loadIdentityKey(dataDir),
    policy: { ttlMs: 8 * 3_600_000, idleMs: 8 * 3_600_000, revalidateMs: 8 * 3_600_000 },
  });
  const created = await sessions.create({
    userId: user.id,
    ...(options.mfa ? { mfaMethods: options.mfa, mfaAt: Date.now() } : {}),
  });
  return `__Host-ztgate_session=${created.rawId}`;
}
