/**
 * A large generated config for the route benchmarks: `n` routes on distinct hosts (and some path
 * prefixes under shared hosts), each with its own inline policy built from a few realistic
 * templates, and a pool of requests spread over those routes.
 *
 * Layout, per block of 10 routes: 7 hosts of their own (`svc-<i>.corp.example.com`) and one
 * shared host (`portal-<k>.corp.example.com`) with the prefixes `/`, `/api` and `/admin`.
 */
import type { DecisionInput } from '../../src/pdp/index.js';
import type { PolicySyntax } from '../../src/pdp/lang/schema.js';
import { isoSeconds } from './pdp-fixtures.js';
import { Prng } from './prng.js';

export interface BenchRoute {
  readonly from: string;
  readonly to: string;
  readonly policy: PolicySyntax;
  readonly mode: 'enforce';
}

export const TEMPLATES = [
  'groups + mfa',
  'domains + device tier',
  'paths + methods',
  'source_ip + authenticated',
  'time window',
] as const;

const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC', 'Australia/Sydney'];
const MAX_AGES = ['15m', '30m', '1h', '8h'];
const PORTAL_PREFIXES = ['', '/api', '/admin'];

function routeUrl(i: number): { url: string; host: string; prefix: string } {
  const slot = i % 10;
  if (slot < 7) {
    const host = `svc-${i}.corp.example.com`;
    return { url: `https://${host}`, host, prefix: '/' };
  }
  const host = `portal-${Math.floor(i / 10)}.corp.example.com`;
  const prefix = PORTAL_PREFIXES[slot - 7] ?? '';
  return { url: `https://${host}${prefix}`, host, prefix: prefix || '/' };
}

/** The policy of route `i`: template `i % 5`, with values that differ from route to route. */
export function routePolicy(i: number): PolicySyntax {
  switch (i % 5) {
    case 0:
      return {
        allow: [{ groups: [`team-${i % 97}`, 'sre'], mfa: { max_age: MAX_AGES[i % 4] ?? '1h' } }],
        deny: [{ risk: { min: 70 + (i % 20) } }],
      };
    case 1:
      return {
        allow: [
          {
            domains: ['example.com', `dept${i % 13}.example.com`],
            device: { managed: true, tier: i % 2 === 0 ? ['high'] : ['high', 'medium'] },
          },
        ],
      };
    case 2:
      return {
        allow: [
          {
            authenticated: true,
            methods: ['GET', 'HEAD'],
            paths: ['/api/**', `/docs/v${i % 4}/*`],
          },
          {
            groups: ['admins', `owners-${i % 31}`],
            methods: ['GET', 'POST', 'PUT', 'DELETE'],
            paths: ['/admin/**', '/api/**'],
          },
        ],
        deny: [{ paths: '/api/internal/**' }],
      };
    case 3:
      return {
        allow: [
          {
            authenticated: true,
            source_ip: ['10.0.0.0/8', `192.168.${i % 256}.0/24`, '2001:db8::/32'],
          },
        ],
        deny: [{ risk: { min: 90 } }],
      };
    default:
      return {
        allow: [
          {
            groups: ['ops', `oncall-${i % 10}`],
            time: { days: 'mon-fri', hours: '08:00-18:00', tz: ZONES[i % ZONES.length] ?? 'UTC' },
          },
          { groups: 'oncall-primary', time: { hours: '18:00-08:00' } },
        ],
      };
  }
}

/** A config with `n` routes, each with its own inline policy (fresh objects on every call). */
export function routeConfig(n: number): {
  policies: Record<string, PolicySyntax>;
  routes: BenchRoute[];
} {
  const routes: BenchRoute[] = [];
  for (let i = 0; i < n; i++) {
    routes.push({
      from: routeUrl(i).url,
      to: `http://10.20.${(i >> 8) & 255}.${i & 255}:8080`,
      policy: routePolicy(i),
      mode: 'enforce',
    });
  }
  return { policies: {}, routes };
}

export interface RouteRequest {
  /** as in the Host header */
  readonly host: string;
  /** normalized */
  readonly path: string;
  readonly input: DecisionInput;
}

const PATHS_UNDER: Record<string, readonly string[]> = {
  '/': [
    '/',
    '/index.html',
    '/api/v1/items/42',
    '/admin/users',
    '/docs/v1/intro',
    '/static/app.css',
  ],
  '/api': ['/api', '/api/v2/orders', '/api/v2/orders/991/lines', '/api/internal/metrics'],
  '/admin': ['/admin', '/admin/settings', '/admin/users/17'],
};
const DOMAINS = [
  'example.com',
  'dept3.example.com',
  'Example.COM',
  'contractor.io',
  'dept7.example.com',
];
const GROUP_POOL = ['sre', 'admins', 'ops', 'oncall-primary', 'all-staff', 'engineering'];
const IPS = [
  '10.1.2.3',
  '10.200.0.17',
  '192.168.3.40',
  '203.0.113.9',
  '198.51.100.20',
  '2001:db8::42',
];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE'];

/** Tuesday 2026-11-24 14:30:00Z: business hours in Europe, morning in New York, night in Asia. */
const NOW_MS = Date.UTC(2026, 10, 24, 14, 30, 0);

/**
 * `count` requests over routes `0..n-1`. `times: 'now'` puts every request in one minute (live
 * traffic: a time window's per-minute cache hits); `'week'` spreads them over a week (every
 * time-window check misses that cache).
 */
export function routeRequests(
  n: number,
  count: number,
  options: { seed?: number; times: 'now' | 'week'; form?: 'epoch' | 'iso' },
): RouteRequest[] {
  const rng = new Prng(options.seed ?? 7);
  const out: RouteRequest[] = [];
  for (let k = 0; k < count; k++) {
    let host: string;
    let path: string;
    if (rng.chance(0.02)) {
      host = `unknown-${k}.corp.example.com`;
      path = '/';
    } else {
      const { host: h, prefix } = routeUrl(rng.int(n));
      path = rng.pick(PATHS_UNDER[prefix] ?? ['/']);
      const r = rng.next();
      host = r < 0.05 ? h.toUpperCase() : r < 0.1 ? `${h}:443` : h;
    }
    const nowMs =
      options.times === 'now' ? NOW_MS + rng.int(60) * 1000 : NOW_MS + rng.int(7 * 86_400) * 1000;
    const time = (ms: number) => (options.form === 'iso' ? isoSeconds(ms) : ms);
    const signedIn = rng.chance(0.85);
    const groups = [
      rng.pick(GROUP_POOL),
      `team-${rng.int(97)}`,
      `owners-${rng.int(31)}`,
      `oncall-${rng.int(10)}`,
    ].slice(0, rng.between(1, 4));
    const score = Math.floor(rng.next() ** 3 * 100);
    const input: DecisionInput = {
      ...(signedIn
        ? {
            user: {
              id: `u${k}`,
              email: `user${k}@${rng.pick(DOMAINS)}`,
              groups,
              claims: {},
            },
            session: {
              id: `s${k}`,
              ...(rng.chance(0.8)
                ? {
                    mfa: {
                      methods: [rng.pick(['totp', 'webauthn'])],
                      at: time(nowMs - rng.int(4 * 3600) * 1000),
                    },
                  }
                : {}),
            },
          }
        : {}),
      ...(rng.chance(0.85)
        ? {
            device: {
              id: `d${k % 500}`,
              managed: rng.chance(0.8),
              tier: rng.pick(['high', 'medium', 'low']),
              posture: { disk_encrypted: rng.chance(0.9), os_patch_age_days: rng.int(60) },
            },
          }
        : {}),
      request: {
        method: rng.pick(METHODS),
        host,
        path,
        source_ip: rng.pick(IPS),
        country: rng.pick(['DE', 'US', 'JP', 'FR']),
        time: time(nowMs),
      },
      risk: { score, signals: [] },
    };
    out.push({ host, path, input });
  }
  return out;
}
