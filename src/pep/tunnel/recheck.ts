/**
 * Deciding open tunnels again. A revoked session, user or device closes its tunnels at once; a
 * policy change decides every tunnel again with the facts it was opened with (synchronously, no
 * I/O); a device change or the periodic recheck first fetches fresh facts. A tunnel whose decision
 * is no longer `allow` (under `mode: enforce`) is cut, and the decision is audited.
 */
import { normalizeHost } from '../../pdp/index.js';
import type { DeviceFacts } from '../../pdp/input.js';
import { codeOf } from '../errors.js';
import { decisionInput } from '../pipeline/build-decision-input.js';
import { evaluateRoute } from '../pipeline/decide.js';
import { acceptIdentity } from '../pipeline/load-identity.js';
import type { ResolvedIdentity } from '../ports.js';
import type { Runtime } from '../runtime.js';
import { cutTunnel, type Tunnel } from './registry.js';

export function closeTunnel(rt: Runtime, t: Tunnel, reason: string): void {
  if (t.closed) return;
  cutTunnel(t);
  rt.tunnels.delete(t);
  rt.metrics.tunnelClosed(reason);
  rt.log('info', 'ZT_PEP_TUNNEL_CLOSED', 'a WebSocket was closed: access withdrawn', {
    request_id: t.requestId,
    route: t.route.from,
    user: t.identity?.user.id,
    reason,
    open_ms: rt.clock.now() - t.openedAt,
  });
}

/**
 * Decides a tunnel again with the given facts; cuts it unless still allowed. Returns true when it
 * was cut.
 */
export function decideAgain(
  rt: Runtime,
  t: Tunnel,
  identity: ResolvedIdentity | undefined,
  device: DeviceFacts | undefined,
): boolean {
  if (t.closed) return false;
  const route = rt.engine.routes.match(t.host, t.path);
  if (route === undefined) {
    closeTunnel(rt, t, 'route-removed');
    return true;
  }
  t.route = route;
  t.identity = identity;
  t.device = device;
  const rr = rt.routeRuntime(route);
  const now = rt.clock.now();
  const started = performance.now();
  const input = decisionInput(identity, device, {
    method: t.method,
    host: normalizeHost(t.host),
    path: t.path,
    sourceIp: t.sourceIp,
    time: now,
    certFingerprint: t.certFingerprint,
    certSpiffeId: t.certSpiffeId,
    certSubject: t.certSubject,
  });
  const d = evaluateRoute(rt, rr, input);
  if (d.decision === 'allow' || route.mode === 'audit') return false;
  try {
    rt.audit.record({
      time: now,
      requestId: t.requestId,
      actor: {
        user: identity?.user.id,
        email: identity?.user.email,
        device: device?.id ?? identity?.deviceId,
      },
      sourceIp: t.sourceIp,
      route: route.from,
      method: t.method,
      path: t.path,
      decision: d.decision,
      policy: d.policy,
      rule: d.rule,
      reasons: d.reasons.map((r) => r.code),
      mode: route.mode,
      forwarded: false,
      via: 'websocket-recheck',
      latencyUs: Math.round((performance.now() - started) * 1000),
    });
  } catch (e) {
    rt.log('error', codeOf(e), 'the audit log refused a record of a closed WebSocket', {
      request_id: t.requestId,
    });
  }
  closeTunnel(rt, t, d.reasons[0]?.code ?? d.decision);
  return true;
}

/**
 * Fetches fresh identity and/or device facts, then decides again. Facts that cannot be fetched
 * close the tunnel (fail closed). Returns true when it was cut.
 */
export async function refreshAndDecide(
  rt: Runtime,
  t: Tunnel,
  refresh: { identity: boolean; device: boolean },
): Promise<boolean> {
  let identity = t.identity;
  let device = t.device;
  try {
    if (refresh.identity) {
      identity = acceptIdentity(await rt.identity.resolve(t.identityRequest), t.certFingerprint);
    }
    const devices = rt.devices;
    const deviceId = identity?.deviceId;
    if (refresh.device && devices !== undefined) {
      device =
        deviceId === undefined && t.certFingerprint === undefined
          ? undefined
          : await devices.lookup({ deviceId, certFingerprint: t.certFingerprint });
    }
  } catch (e) {
    rt.log('warn', codeOf(e), 'facts for an open WebSocket are unavailable; closing it', {
      request_id: t.requestId,
    });
    closeTunnel(rt, t, 'dependency-unavailable');
    return true;
  }
  return decideAgain(rt, t, identity, device);
}
