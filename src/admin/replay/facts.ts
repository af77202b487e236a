/**
 * Rebuilding a decision input from an `access` audit record, for the what-if simulator and the
 * explanation of a request. The record holds the request (method, route, canonical path, source
 * address, time), the user id and email and the device id, but not everything the proxy decided
 * on; what it lacks is rebuilt from the store as faithfully as it can be, and said:
 *
 * - groups: the user's groups *now* (the record keeps no groups);
 * - MFA: the session of that user (and device) that was live at the request's time, with its MFA
 *   methods and time; a session swept since (expired long ago) leaves MFA unknown, i.e. absent;
 * - device: the device's facts *now* (managed, tier, posture), not at the request's time;
 * - claims, country, risk and the client certificate: not recorded, so absent (unknown);
 * - host: the host of the route's `from` (a wildcard route's real host is not recorded).
 *
 * Every rebuilt input carries the list of facts it had to approximate, so the caller can say how
 * much to trust a replay.
 */
import type { AuditRecord } from '../../audit/record.js';
import type { DecisionInput } from '../../pdp/index.js';
import type { DeviceFacts } from '../../pdp/input.js';
import type { DeviceFactsPort } from '../../pep/ports.js';
import type { SessionRecord, UserRecord } from '../../store/store.js';
import type { AdminStore } from '../deps.js';

/** A fact the replay could not take from the record itself. */
export type Approximation =
  'groups-now' | 'mfa-unknown' | 'device-now' | 'device-unknown' | 'user-unknown' | 'wildcard-host';

export interface ReplayInput {
  readonly input: DecisionInput;
  readonly host: string;
  readonly path: string;
  readonly approximations: readonly Approximation[];
}

/** Looks facts up once per user, session list and device for a whole replay. */
export class FactCache {
  private readonly users = new Map<string, Promise<UserRecord | undefined>>();
  private readonly sessions = new Map<string, Promise<readonly SessionRecord[]>>();
  private readonly devices = new Map<string, Promise<DeviceFacts | undefined>>();

  constructor(
    private readonly store: Pick<AdminStore, 'users' | 'sessions'>,
    private readonly deviceFacts: DeviceFactsPort | undefined,
  ) {}

  user(id: string): Promise<UserRecord | undefined> {
    let p = this.users.get(id);
    if (!p) this.users.set(id, (p = this.store.users.get(id)));
    return p;
  }

  sessionsOf(userId: string): Promise<readonly SessionRecord[]> {
    let p = this.sessions.get(userId);
    if (!p) this.sessions.set(userId, (p = this.store.sessions.listByUser(userId)));
    return p;
  }

  device(id: string): Promise<DeviceFacts | undefined> {
    let p = this.devices.get(id);
    if (!p) {
      p = this.deviceFacts
        ? Promise.resolve(this.deviceFacts.lookup({ deviceId: id, certFingerprint: undefined }))
        : Promise.resolve(undefined);
      this.devices.set(id, p);
    }
    return p;
  }
}

/** The session that was live for this user (and device) at `time`: the newest one created before it. */
export function sessionAt(
  sessions: readonly SessionRecord[],
  time: number,
  deviceId: string | undefined,
): SessionRecord | undefined {
  let best: SessionRecord | undefined;
  for (const s of sessions) {
    if (s.createdAt > time) continue;
    const ended = Math.min(s.revokedAt ?? Infinity, s.expiresAt);
    if (ended <= time) continue;
    if (deviceId !== undefined && s.deviceId !== null && s.deviceId !== deviceId) continue;
    if (!best || s.createdAt > best.createdAt) best = s;
  }
  return best;
}

/** The host and path prefix of a route's `from`. */
export function routeTarget(from: string): { host: string; wildcard: boolean } | undefined {
  const wildcard = /^https?:\/\/\*\./i.test(from);
  try {
    const url = new URL(wildcard ? from.replace('*.', 'replay.') : from);
    return { host: url.host.toLowerCase(), wildcard };
  } catch {
    return undefined;
  }
}

/** The decision input of an access record, rebuilt (see the module comment). */
export async function replayInput(
  record: AuditRecord,
  facts: FactCache,
): Promise<ReplayInput | undefined> {
  if (record.kind !== 'access' || typeof record.route !== 'string') return undefined;
  const target = routeTarget(record.route);
  if (!target) return undefined;
  const time = Date.parse(record.time);
  const path = typeof record.path === 'string' ? record.path : '/';
  const approximations: Approximation[] = [];
  if (target.wildcard) approximations.push('wildcard-host');
  const userId = record.actor?.user;
  const deviceId = record.actor?.device;
  let user: DecisionInput['user'];
  let session: DecisionInput['session'];
  if (userId !== undefined) {
    const u = await facts.user(userId);
    if (u) {
      user = { id: u.id, email: u.email, groups: u.groups, claims: {} };
      approximations.push('groups-now');
    } else {
      // a deleted user: what the record names, without groups
      user = { id: userId, ...(record.actor?.email ? { email: record.actor.email } : {}) };
      approximations.push('user-unknown');
    }
    const s = sessionAt(await facts.sessionsOf(userId), time, deviceId);
    if (s && (s.mfaAt === null || s.mfaAt <= time)) {
      session = {
        id: s.idHash.slice(0, 16),
        mfa: s.mfaAt === null ? { methods: s.mfaMethods } : { methods: s.mfaMethods, at: s.mfaAt },
      };
    } else {
      session = { mfa: { methods: [] } };
      approximations.push('mfa-unknown');
    }
  }
  let device: DeviceFacts | undefined;
  if (deviceId !== undefined) {
    device = await facts.device(deviceId);
    approximations.push(device ? 'device-now' : 'device-unknown');
  }
  const input: DecisionInput = {
    ...(user ? { user } : {}),
    ...(session ? { session } : {}),
    ...(device ? { device } : {}),
    request: {
      method: typeof record.method === 'string' ? record.method : 'GET',
      host: target.host,
      path,
      ...(typeof record.source_ip === 'string' ? { source_ip: record.source_ip } : {}),
      time,
    },
  };
  return { input, host: target.host, path, approximations };
}
