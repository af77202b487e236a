/**
 * Is a host firewall filtering incoming traffic? "Installed" is not enough: rules must be loaded.
 *
 * - nftables (`nft list ruleset`): a chain hooked on `input` (families ip, ip6, inet) whose policy
 *   is `drop`, or from which a rule that drops or rejects is reachable (following `jump`/`goto`).
 * - iptables (`iptables -S`): the `INPUT` policy is `DROP`, or a `-j DROP`/`-j REJECT` rule is
 *   reachable from `INPUT` through user chains (ufw's and firewalld's chains included).
 * - ufw (`ufw status`): `Status: active`.
 * - firewalld (`firewall-cmd --state`): `running`.
 *
 * Any backend that finds filtering gives `true`; otherwise any that answered gives `false`; when
 * none could be asked (not installed, or not root), the attribute is unavailable with the reasons.
 * Docker's and libvirt's rules filter `FORWARD`, not `INPUT`, and do not count; neither does a rule
 * that only drops packets in conntrack state `invalid`.
 */
import {
  commandFailure,
  firstLine,
  reason,
  value,
  collected,
  type Collector,
  type CollectorContext,
  type Outcome,
} from '../types.js';

export type FirewallState = 'active' | 'inactive';

interface Chain {
  readonly hookInput: boolean;
  policy: string | undefined;
  readonly rules: string[];
}

function reachableFilter(
  chains: Map<string, Chain>,
  roots: string[],
  jumps: (rule: string) => string[],
  drops: (rule: string) => boolean,
): boolean {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const chain = chains.get(name);
    if (!chain) continue;
    for (const rule of chain.rules) {
      if (drops(rule)) return true;
      for (const target of jumps(rule)) stack.push(target);
    }
  }
  return false;
}

/** Parses `nft list ruleset` text. */
export function nftState(text: string): FirewallState {
  const chains = new Map<string, Chain>();
  const roots: string[] = [];
  let table: string | undefined;
  let chainKey: string | undefined;
  let depth = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (depth === 0) {
      const t = /^table\s+(\S+)\s+(\S+)/.exec(line);
      if (t) table = `${t[1]} ${t[2]}`;
    } else if (depth === 1 && table) {
      const c = /^chain\s+(\S+)/.exec(line);
      if (c) {
        chainKey = `${table} ${c[1]}`;
        chains.set(chainKey, { hookInput: false, policy: undefined, rules: [] });
      }
    } else if (depth === 2 && chainKey) {
      const chain = chains.get(chainKey);
      if (chain) {
        if (/^type\s/.test(line) || /^policy\s/.test(line)) {
          const family = table?.split(' ')[0] ?? '';
          const inputHook = /^type\s+filter\s+hook\s+input\b/.test(line);
          if (inputHook && (family === 'ip' || family === 'ip6' || family === 'inet')) {
            chains.set(chainKey, { ...chain, hookInput: true });
            roots.push(chainKey);
          }
          const policy = /\bpolicy\s+(\w+)\s*;/.exec(line);
          if (policy) (chains.get(chainKey) as Chain).policy = policy[1];
        } else if (!line.startsWith('}')) {
          chain.rules.push(line);
        }
      }
    }
    depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
    if (depth <= 1) chainKey = undefined;
    if (depth <= 0) {
      depth = 0;
      table = undefined;
    }
  }
  for (const key of roots) if (chains.get(key)?.policy === 'drop') return 'active';
  for (const root of roots) {
    const t = root.split(' ').slice(0, 2).join(' ');
    const found = reachableFilter(
      chains,
      [root],
      (rule) =>
        [...rule.matchAll(/\b(?:jump|goto)\s+([A-Za-z0-9_.-]+)/g)].map((m) => `${t} ${m[1]}`),
      (rule) => /(^|\s)(drop|reject)(\s|;|$)/.test(rule) && !/\bct state invalid\b/.test(rule),
    );
    if (found) return 'active';
  }
  return 'inactive';
}

/** Parses `iptables -S` (or `ip6tables -S`). */
export function iptablesState(text: string): FirewallState {
  const chains = new Map<string, Chain>();
  const get = (name: string): Chain => {
    let c = chains.get(name);
    if (!c) {
      c = { hookInput: name === 'INPUT', policy: undefined, rules: [] };
      chains.set(name, c);
    }
    return c;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const p = /^-P\s+(\S+)\s+(\S+)/.exec(line);
    if (p && p[1] && p[2]) get(p[1]).policy = p[2];
    const a = /^-A\s+(\S+)\s+(.*)$/.exec(line);
    if (a && a[1] && a[2] !== undefined) get(a[1]).rules.push(a[2]);
  }
  const input = chains.get('INPUT');
  if (!input) return 'inactive';
  if (input.policy === 'DROP' || input.policy === 'REJECT') return 'active';
  const found = reachableFilter(
    chains,
    ['INPUT'],
    (rule) => {
      const m = /(?:^|\s)-[jg]\s+(\S+)/.exec(rule);
      return m && m[1] && chains.has(m[1]) ? [m[1]] : [];
    },
    (rule) => /(?:^|\s)-j\s+(DROP|REJECT)\b/.test(rule) && !/--ctstate INVALID\b/.test(rule),
  );
  return found ? 'active' : 'inactive';
}

/** Parses `ufw status` in the C locale; undefined when the text is not recognized. */
export function ufwState(text: string): FirewallState | undefined {
  const m = /^Status:\s*(active|inactive)\b/m.exec(text);
  return m ? (m[1] as FirewallState) : undefined;
}

/** Parses `firewall-cmd --state`. */
export function firewalldState(stdout: string, code: number | null): FirewallState | undefined {
  const s = stdout.trim();
  if (s === 'running' && code === 0) return 'active';
  if (s === 'not running') return 'inactive';
  return undefined;
}

/** true when any backend filters, false when any answered, else the reasons. */
export function combineFirewall(
  results: readonly (FirewallState | { reason: string })[],
): Outcome<boolean> {
  if (results.some((r) => r === 'active')) return value(true);
  if (results.some((r) => r === 'inactive')) return value(false);
  const reasons = results.map((r) => (typeof r === 'string' ? r : r.reason));
  return reason(`no firewall could be queried: ${reasons.join('; ')}`);
}

export async function linuxFirewall(ctx: CollectorContext): Promise<Outcome<boolean>> {
  const t = { timeoutMs: ctx.commandTimeoutMs };
  const results: (FirewallState | { reason: string })[] = [];
  const nft = await ctx.run('nft', ['list', 'ruleset'], t);
  const nftFailure = commandFailure('nft list ruleset', nft);
  results.push(nftFailure ? { reason: nftFailure } : nftState(nft.stdout));
  if (results[0] === 'active') return value(true);
  const ipt = await ctx.run('iptables', ['-S'], t);
  const iptFailure = commandFailure('iptables -S', ipt);
  results.push(iptFailure ? { reason: iptFailure } : iptablesState(ipt.stdout));
  if (results.includes('active')) return value(true);
  const ufw = await ctx.run('ufw', ['status'], t);
  const ufwFailure = commandFailure('ufw status', ufw);
  const ufwParsed = ufwFailure ? undefined : ufwState(ufw.stdout);
  results.push(
    ufwParsed ?? {
      reason: ufwFailure ?? `\`ufw status\` printed \`${firstLine(ufw.stdout, 40)}\``,
    },
  );
  const fwd = await ctx.run('firewall-cmd', ['--state'], t);
  const fwdParsed = fwd.error ? undefined : firewalldState(fwd.stdout, fwd.code);
  results.push(
    fwdParsed ?? {
      reason: commandFailure('firewall-cmd --state', fwd) ?? '`firewall-cmd --state` gave no state',
    },
  );
  return combineFirewall(results);
}

export const linuxFirewallCollector: Collector = {
  name: 'firewall',
  provides: ['firewall'],
  async collect(ctx) {
    return collected({ firewall: await linuxFirewall(ctx) });
  },
};
