/**
 * The issuance policy: which names each requester may obtain certificates for. Deny by default:
 * a requester with no entry gets nothing, and an entry allows only the types and names it lists.
 *
 * ```yaml
 * requesters:
 *   - name: quickstart              # exact, or a prefix ending in `*` (`agent:*`)
 *     types: [server]
 *     dns: ['*.localhost', localhost]   # `*` is one whole label; `**.` one or more labels
 *     ips: [127.0.0.1, '::1', 10.0.0.0/8]
 *     max_ttl: 90d
 *   - name: enrollment
 *     types: [device]
 *     devices: ['*']                # device ids; `*` matches any run of characters
 *     users: ['*']
 *   - name: spiffe://example.org/ns/ci/sa/deployer
 *     types: [svid]
 *     spiffe_ids: [spiffe://example.org/ns/ci]   # this ID and everything below it
 * ```
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../../shared/duration.js';
import { PkiError, quote } from '../errors.js';
import { parseIpAddress, type IpName } from '../names.js';
import { parseSpiffeId, spiffeIdHasPrefix } from '../spiffe.js';
import { CERTIFICATE_TYPES, type CertificateType } from './profiles.js';

/** What a requester asks for, with every name already validated. */
export interface IssuanceAsk {
  readonly type: CertificateType;
  readonly dns?: readonly string[];
  readonly ips?: readonly IpName[];
  readonly spiffeId?: string;
  readonly deviceId?: string;
  readonly userId?: string;
  readonly ttlMs: number;
}

export interface IssuanceEntry {
  readonly name: string;
  readonly types: readonly CertificateType[];
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly spiffeIds: readonly string[];
  readonly devices: readonly string[];
  readonly users: readonly string[];
  readonly maxTtlMs: number | undefined;
}

const EntrySchema = z.strictObject({
  name: z.string().min(1).max(2048),
  types: z.array(z.enum(['server', 'device', 'svid'])).min(1),
  dns: z.array(z.string().min(1).max(253)).optional(),
  ips: z.array(z.string().min(1).max(64)).optional(),
  spiffe_ids: z.array(z.string().min(1).max(2048)).optional(),
  devices: z.array(z.string().min(1).max(256)).optional(),
  users: z.array(z.string().min(1).max(256)).optional(),
  max_ttl: z.string().optional(),
});

const PolicySchema = z.strictObject({
  requesters: z.array(EntrySchema).max(10_000),
});

interface Cidr {
  readonly bytes: Buffer;
  readonly bits: number;
}

function parseCidr(text: string): Cidr {
  const [addr, prefix, ...rest] = text.split('/');
  const ip = parseIpAddress(addr ?? '');
  const max = ip.bytes.length * 8;
  const bits = prefix === undefined ? max : Number(prefix);
  if (
    rest.length ||
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > max ||
    (prefix !== undefined && !/^\d+$/.test(prefix))
  ) {
    throw new Error(`${quote(text)} is not an IP address or CIDR`);
  }
  return { bytes: ip.bytes, bits };
}

function inCidr(ip: IpName, cidr: Cidr): boolean {
  if (ip.bytes.length !== cidr.bytes.length) return false;
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** `*` matches any run of characters (no other special characters); a two-pointer match without backtracking blow-up (O(n·m) at worst). */
export function globMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = v;
    } else if (star >= 0) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * A DNS pattern: exact, `*.example.com` (one whole label, which may itself be `*`: the pattern
 * allows requesting the wildcard name) or `**.example.com` (one or more labels).
 */
export function dnsMatch(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  if (p === name) return true;
  if (p.startsWith('**.')) {
    const suffix = p.slice(2);
    return name.endsWith(suffix) && name.length > suffix.length;
  }
  if (p.startsWith('*.')) {
    const suffix = p.slice(1);
    if (!name.endsWith(suffix)) return false;
    const head = name.slice(0, name.length - suffix.length);
    return head.length > 0 && !head.includes('.');
  }
  return false;
}

export class IssuancePolicy {
  private readonly cidrs = new Map<IssuanceEntry, Cidr[]>();

  private constructor(
    readonly entries: readonly IssuanceEntry[],
    private readonly unrestricted: boolean,
  ) {
    for (const e of entries) this.cidrs.set(e, e.ips.map(parseCidr));
  }

  /** Everything allowed: for the local operator, who holds the intermediate key anyway. */
  static unrestricted(): IssuancePolicy {
    return new IssuancePolicy([], true);
  }

  static fromEntries(entries: readonly IssuanceEntry[]): IssuancePolicy {
    return new IssuancePolicy(entries, false);
  }

  /** Parses a policy document (YAML or JSON text); `ZT_PKI_ISSUANCE_POLICY_INVALID` on any problem. */
  static parse(text: string, file = 'issuance policy'): IssuancePolicy {
    const bad = (message: string): never => {
      throw new PkiError('ZT_PKI_ISSUANCE_POLICY_INVALID', `${file}: ${message}`, {
        help: 'see docs/pki.md, "Issuance policy", for the format',
      });
    };
    let doc: unknown;
    try {
      doc = parseYaml(text, { maxAliasCount: 100 });
    } catch (err) {
      return bad(`not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
    }
    const parsed = PolicySchema.safeParse(doc ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `at \`${issue.path.join('.')}\`: ` : '';
      return bad(`${where}${issue?.message ?? 'malformed'}`);
    }
    const entries = parsed.data.requesters.map((e, i): IssuanceEntry => {
      const at = `requesters.${i}`;
      let maxTtlMs: number | undefined;
      if (e.max_ttl !== undefined) {
        maxTtlMs = parseDuration(e.max_ttl);
        if (maxTtlMs === undefined || maxTtlMs === 0)
          bad(
            `at \`${at}.max_ttl\`: ${quote(e.max_ttl)} is not a duration such as \`1h\` or \`30d\``,
          );
      }
      for (const ip of e.ips ?? []) {
        try {
          parseCidr(ip);
        } catch {
          bad(`at \`${at}.ips\`: ${quote(ip)} is not an IP address or CIDR`);
        }
      }
      for (const id of e.spiffe_ids ?? []) {
        try {
          parseSpiffeId(id.endsWith('/') ? id.slice(0, -1) : id);
        } catch (err) {
          bad(`at \`${at}.spiffe_ids\`: ${(err as Error).message}`);
        }
      }
      return {
        name: e.name,
        types: e.types,
        dns: (e.dns ?? []).map((d) => d.toLowerCase()),
        ips: e.ips ?? [],
        spiffeIds: e.spiffe_ids ?? [],
        devices: e.devices ?? [],
        users: e.users ?? [],
        maxTtlMs,
      };
    });
    return new IssuancePolicy(entries, false);
  }

  static load(file: string): IssuancePolicy {
    let text: string;
    try {
      const buf = readFileSync(file);
      if (buf.length > 1024 * 1024) throw new Error('larger than 1 MiB');
      text = buf.toString('utf8');
    } catch (err) {
      throw new PkiError(
        'ZT_PKI_ISSUANCE_POLICY_INVALID',
        `cannot read the issuance policy ${quote(file)}: ${(err as Error).message}`,
      );
    }
    return IssuancePolicy.parse(text, file);
  }

  /** Throws `ZT_PKI_NAME_NOT_ALLOWED` unless some entry for `requester` allows everything asked. */
  authorize(requester: string, ask: IssuanceAsk): void {
    if (this.unrestricted) return;
    const entries = this.entries.filter((e) =>
      e.name.endsWith('*') ? requester.startsWith(e.name.slice(0, -1)) : e.name === requester,
    );
    if (entries.length === 0) {
      throw new PkiError(
        'ZT_PKI_NAME_NOT_ALLOWED',
        `the issuance policy has no entry for the requester ${quote(requester)}`,
        {
          help: 'add an entry under `requesters:` in the issuance policy (docs/pki.md)',
        },
      );
    }
    let first: string | undefined;
    for (const e of entries) {
      const why = this.refusal(e, ask);
      if (why === undefined) return;
      first ??= why;
    }
    throw new PkiError(
      'ZT_PKI_NAME_NOT_ALLOWED',
      `the requester ${quote(requester)} may not obtain ${first ?? 'this certificate'}`,
      {
        help: 'ask for names the issuance policy allows this requester, or change the policy',
      },
    );
  }

  private refusal(e: IssuanceEntry, ask: IssuanceAsk): string | undefined {
    if (!e.types.includes(ask.type)) {
      return `${ask.type === 'svid' ? 'an SVID' : `a ${ask.type} certificate`} (allowed types: ${e.types.join(', ')})`;
    }
    if (e.maxTtlMs !== undefined && ask.ttlMs > e.maxTtlMs) {
      return `a certificate valid for ${formatDuration(ask.ttlMs)} (at most ${formatDuration(e.maxTtlMs)})`;
    }
    for (const name of ask.dns ?? []) {
      if (!e.dns.some((p) => dnsMatch(p, name)))
        return `a certificate for the DNS name ${quote(name)}`;
    }
    const cidrs = this.cidrs.get(e) ?? [];
    for (const ip of ask.ips ?? []) {
      if (!cidrs.some((c) => inCidr(ip, c)))
        return `a certificate for the IP address ${quote(ip.text)}`;
    }
    if (
      ask.spiffeId !== undefined &&
      !e.spiffeIds.some((p) => spiffeIdHasPrefix(ask.spiffeId as string, p))
    ) {
      return `an SVID for ${quote(ask.spiffeId)}`;
    }
    if (
      ask.deviceId !== undefined &&
      !e.devices.some((p) => globMatch(p, ask.deviceId as string))
    ) {
      return `a certificate for the device ${quote(ask.deviceId)}`;
    }
    if (ask.userId !== undefined && !e.users.some((p) => globMatch(p, ask.userId as string))) {
      return `a device certificate for the user ${quote(ask.userId)}`;
    }
    return undefined;
  }
}

export { CERTIFICATE_TYPES };
