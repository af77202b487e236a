/**
 * Client addresses: the TCP peer, whether it is a trusted proxy, and the source address a decision
 * uses. `X-Forwarded-For` is believed only as far as it was written by trusted proxies: walking it
 * from the right, the first address that is not a trusted proxy is the client (what nginx's
 * `real_ip_recursive on` does). Anything further left was written by the client and is ignored.
 */
import { CidrSet } from '../../pdp/match/ip.js';

export class TrustedProxies {
  private readonly set: CidrSet | undefined;

  constructor(cidrs: readonly string[]) {
    if (cidrs.length === 0) {
      this.set = undefined;
      return;
    }
    const { set, errors } = CidrSet.compile(cidrs);
    if (errors.length > 0) {
      const first = errors[0];
      throw new RangeError(
        `trusted proxy \`${cidrs[first?.index ?? 0] ?? ''}\` is not a CIDR: ${first?.message ?? ''}`,
      );
    }
    this.set = set;
  }

  get any(): boolean {
    return this.set !== undefined;
  }

  contains(ip: string): boolean {
    return this.set !== undefined && this.set.contains(ip);
  }

  /**
   * The client address behind a trusted peer: the rightmost `X-Forwarded-For` entry that is not a
   * trusted proxy (the peer itself when the header is absent or malformed).
   */
  clientAddress(peer: string, forwardedFor: string | string[] | undefined): string {
    if (forwardedFor === undefined) return peer;
    const list = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    const parts = list.split(',');
    for (let i = parts.length - 1; i >= 0; i--) {
      const ip = stripPort((parts[i] as string).trim());
      if (ip === '' || !looksLikeIp(ip)) return peer;
      if (!this.contains(ip)) return ip;
    }
    return stripPort((parts[0] as string).trim()) || peer;
  }
}

/** `::ffff:10.0.0.1` -> `10.0.0.1`; undefined -> ``. */
export function normalizePeer(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function stripPort(entry: string): string {
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']');
    return end > 0 ? entry.slice(1, end) : entry;
  }
  const colon = entry.indexOf(':');
  // one colon: `1.2.3.4:5678`; more: a bare IPv6 address
  if (colon > 0 && entry.indexOf(':', colon + 1) < 0) return entry.slice(0, colon);
  return normalizePeer(entry);
}

function looksLikeIp(s: string): boolean {
  return /^[0-9a-fA-F:.]{2,45}$/.test(s);
}
