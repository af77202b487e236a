/**
 * Open WebSocket tunnels, with what each was allowed on: its session, user, device and route, and
 * the facts to decide again. Revocations and policy changes look tunnels up here and close those
 * whose access is withdrawn (PRODUCT.md section 5: within a second).
 */
import type { Duplex } from 'node:stream';
import type { DeviceFacts } from '../../pdp/input.js';
import type { ProxyRoute } from '../options.js';
import type { IdentityRequest, ResolvedIdentity } from '../ports.js';

export interface Tunnel {
  readonly id: number;
  readonly requestId: string;
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly sourceIp: string;
  readonly certFingerprint: string | undefined;
  readonly certSpiffeId: string | undefined;
  readonly certSubject: string | undefined;
  /** to resolve the identity again on a recheck; kept in memory only, never logged */
  readonly identityRequest: IdentityRequest;
  route: ProxyRoute;
  identity: ResolvedIdentity | undefined;
  device: DeviceFacts | undefined;
  readonly openedAt: number;
  readonly client: Duplex;
  readonly upstream: Duplex;
  closed: boolean;
}

export class TunnelRegistry {
  private readonly open = new Set<Tunnel>();
  private nextId = 1;

  newId(): number {
    return this.nextId++;
  }

  add(t: Tunnel): void {
    this.open.add(t);
  }

  delete(t: Tunnel): void {
    this.open.delete(t);
  }

  get size(): number {
    return this.open.size;
  }

  all(): Tunnel[] {
    return [...this.open];
  }

  where(match: (t: Tunnel) => boolean): Tunnel[] {
    const out: Tunnel[] = [];
    for (const t of this.open) if (match(t)) out.push(t);
    return out;
  }
}

/** Cuts both sides of a tunnel at once. */
export function cutTunnel(t: Tunnel): void {
  if (t.closed) return;
  t.closed = true;
  t.client.destroy();
  t.upstream.destroy();
}
