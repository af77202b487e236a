/**
 * Small adapters from the identity and device components to the admin API's ports, for the
 * composition root (and the tests): a session cookie resolved by `SessionManager`, and device facts
 * read from the store.
 */
import { deviceFacts } from '../device/posture/facts.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceTrustSettings } from '../device/settings.js';
import { parseCookies, SESSION_COOKIE } from '../identity/session/cookie.js';
import { toDecisionFacts, type SessionManager } from '../identity/session/session-manager.js';
import type { DeviceFacts } from '../pdp/input.js';
import type {
  DeviceFactsPort,
  DeviceLookup,
  IdentityRequest,
  ResolvedIdentity,
} from '../pep/ports.js';
import type { DeviceStore } from '../store/store.js';
import type { AdminIdentityPort } from './deps.js';

/** Resolves `__Host-ztgate_session` through the session manager (expiry, revocation, binding). */
export function sessionResolver(sessions: Pick<SessionManager, 'lookup'>): AdminIdentityPort {
  return {
    async resolve(request: IdentityRequest): Promise<ResolvedIdentity | undefined> {
      const raw = parseCookies(request.cookie).get(SESSION_COOKIE);
      if (raw === undefined) return undefined;
      const found = await sessions.lookup(raw, { certFingerprint: request.clientCertFingerprint });
      if (!found.ok) return undefined;
      const facts = toDecisionFacts(found.session);
      const record = found.session.record;
      return {
        user: { ...facts.user, email: facts.user.email },
        session: {
          id: facts.session.id,
          mfa: { methods: facts.session.mfa.methods, at: record.mfaAt ?? undefined },
        },
        ...(record.deviceId !== null ? { deviceId: record.deviceId } : {}),
        ...(found.session.extras.certFingerprint !== null
          ? { boundCertFingerprint: found.session.extras.certFingerprint }
          : {}),
      };
    },
  };
}

/** Device facts from the store: the session's device, else the verified client certificate's. */
export function storeDeviceFacts(
  devices: Pick<DeviceStore, 'get' | 'getByCertificateFingerprint'>,
  options: { readonly settings?: () => DeviceTrustSettings; readonly now?: () => number } = {},
): DeviceFactsPort {
  const now = options.now ?? Date.now;
  return {
    async lookup(query: DeviceLookup): Promise<DeviceFacts | undefined> {
      const record =
        query.deviceId !== undefined
          ? await devices.get(query.deviceId)
          : query.certFingerprint !== undefined
            ? await devices.getByCertificateFingerprint(query.certFingerprint)
            : undefined;
      if (!record) return undefined;
      return deviceFacts(record, now(), options.settings?.() ?? DEFAULT_DEVICE_SETTINGS);
    },
  };
}
