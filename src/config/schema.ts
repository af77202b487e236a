/**
 * The schema of ztgate.yaml: the one source of the `Config` type, the runtime validator
 * (`ConfigSchema.safeParse`), the JSON Schema in docs/config.schema.json and the reference in
 * docs/config.md. Every object is strict (an unknown key is an error, with a "did you mean"), every
 * key has a description, and every top-level key has a default, so a file holding only `policies:`
 * is a whole config.
 *
 * The schema checks shapes, and the bounds of the values it can see alone (a duration's range, a
 * size's, a certificate with its key). What needs more (URLs, listen addresses, CIDRs, routes
 * naming existing policies, secret files) is checked afterwards by ./check.ts, with locations.
 *
 * Two sections belong to other components and are embedded as they define them, from modules that
 * import only zod and src/shared: the policy language (`PolicySchema`, src/pdp/lang/schema.ts) and
 * the device trust settings (`DevicesConfigSchema`, src/device/settings-schema.ts).
 */
import { z } from 'zod';
import { DevicesConfigSchema } from '../device/settings-schema.js';
import { DurationSchema, PolicySchema } from '../pdp/lang/schema.js';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../shared/duration.js';
import { SIZE_PATTERN, parseSize } from '../shared/size.js';
import { codeText } from './problem.js';

/**
 * Marks a `*_file` key whose file holds a secret: with `readSecrets`, the loader requires mode 0600
 * or stricter. Appears in the JSON Schema as `x-ztgate-secret: true` and in docs/config.md.
 */
const SECRET = { 'x-ztgate-secret': true } as const;

/** A policy name: the key under `policies:` and the value of a route's `policy:`. */
export const POLICY_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,128}$';

export const PolicyNameSchema = z
  .string()
  .regex(
    new RegExp(POLICY_NAME_PATTERN),
    'expected a policy name: 1 to 128 letters, digits, `_`, `.` or `-`',
  )
  .meta({ description: 'A policy name: 1 to 128 letters, digits, `_`, `.` or `-`.' });

const DURATION = new RegExp(DURATION_PATTERN);

/**
 * A duration key with bounds in milliseconds. The pattern is the one of every duration (so the
 * loader words a malformed one alike everywhere, and the JSON Schema says "a duration"); the
 * refinement refuses what the pattern lets through but is no usable duration (`1h2h`, more than
 * 10 years), and values out of the key's range, at the key's position.
 */
function duration(bounds: { readonly min?: number; readonly max?: number } = {}) {
  return DurationSchema.superRefine((text, ctx) => {
    if (!DURATION.test(text)) return; // the pattern already said so
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${codeText(text)} is not a usable duration`,
        params: {
          ztCode: 'ZT_CONFIG_INVALID_DURATION',
          help: 'a duration is at most 10 years and names each unit once, such as `1h30m`',
        },
      });
    } else if (bounds.min !== undefined && ms < bounds.min) {
      ctx.addIssue({
        code: 'custom',
        message:
          bounds.min === 1
            ? `expected a duration longer than 0, got ${codeText(text)}`
            : `expected a duration of at least ${formatDuration(bounds.min)}, got ${codeText(text)}`,
      });
    } else if (bounds.max !== undefined && ms > bounds.max) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration of at most ${formatDuration(bounds.max)}, got ${codeText(text)}`,
      });
    }
  });
}

/**
 * A size in bytes: a whole number, or text such as `10MiB`, `512KiB`, `1GB` (src/shared/size.ts).
 * The loaded config holds the number of bytes. The default is given as written (`prefault`), so
 * the JSON Schema and the reference show `10MiB` rather than 10485760.
 */
function size(defaultText: string) {
  return z
    .union([z.number().int().min(0), z.string().regex(new RegExp(SIZE_PATTERN), 'expected a size')])
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      if (bytes === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${typeof value === 'string' ? codeText(value) : `the number ${value}`} is too large for a size`,
          params: { ztCode: 'ZT_CONFIG_INVALID_SIZE' },
        });
        return z.NEVER;
      }
      return bytes;
    })
    .prefault(defaultText);
}

/** `host:port`; the host and port are checked by ./check.ts (IPv6 in brackets, port 1-65535). */
const ListenSchema = z.string().min(1);

export const STORE_PATTERN = '^(sqlite|postgres(ql)?://.+)$';

export const StoreSchema = z
  .string()
  .regex(
    new RegExp(STORE_PATTERN, 's'),
    'expected `sqlite` or a PostgreSQL URL starting with `postgres://`',
  )
  .default('sqlite')
  .meta({
    description:
      'Where state lives: `sqlite` (a database file under `data_dir`) or a PostgreSQL URL such as `postgres://ztgate@127.0.0.1:5432/ztgate` for several replicas. Give the password through a passfile or the `PGPASSWORD` environment variable rather than in the URL.',
    examples: ['sqlite', 'postgres://ztgate@127.0.0.1:5432/ztgate'],
  });

export const OidcSchema = z
  .strictObject({
    issuer: z.string().min(1).meta({
      description:
        'The issuer URL of the identity provider (`https://login.example.com`); its discovery document is at `{issuer}/.well-known/openid-configuration`.',
    }),
    client_id: z
      .string()
      .min(1)
      .meta({ description: 'The client ID ztgate was registered with at the identity provider.' }),
    client_secret_file: z
      .string()
      .min(1)
      .meta({
        description:
          'A file holding the client secret (one trailing newline is ignored). Must be mode 0600 or stricter.',
        ...SECRET,
      }),
    groups_claim: z
      .string()
      .min(1)
      .default('groups')
      .meta({ description: 'The ID token or userinfo claim that lists the user’s groups.' }),
    scopes: z
      .array(z.string().min(1))
      .default(['openid', 'email', 'profile'])
      .meta({ description: 'The scopes ztgate asks for; `openid` is required by OIDC.' }),
    ca_file: z.string().min(1).optional().meta({
      description:
        'CA certificates (PEM) to trust for the identity provider besides the system’s, for an IdP behind a company CA (Keycloak on an internal name).',
    }),
  })
  .meta({ description: 'Sign users in with an external OpenID Connect identity provider.' });

export const IdentitySchema = z
  .strictObject({
    builtin: z.strictObject({}).optional().meta({
      description:
        'The built-in identity provider: users, passwords, TOTP and passkeys managed with `ztgate user`. Takes no options yet: write `builtin: {}`.',
    }),
    oidc: OidcSchema.optional(),
  })
  .superRefine(
    (value, ctx) => {
      const count = (value.builtin ? 1 : 0) + (value.oidc ? 1 : 0);
      if (count === 1) return;
      ctx.addIssue({
        code: 'custom',
        message:
          count === 0
            ? 'no identity provider is configured'
            : 'both `builtin` and `oidc` are set, and ztgate uses exactly one identity provider',
        params: {
          ztCode: 'ZT_CONFIG_INVALID_VALUE',
          help: 'keep exactly one of `builtin: {}` or `oidc: {...}`',
        },
      });
    },
    // Also when a key inside is wrong, so that both mistakes are reported in one run.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  )
  .default({ builtin: {} })
  .meta({
    description: 'Where users sign in: exactly one of `builtin` or `oidc`.',
    minProperties: 1,
    maxProperties: 1,
  });

export const SessionSchema = z
  .strictObject({
    ttl: DurationSchema.default('8h').meta({
      description: 'The longest a session lives, however active; then the user signs in again.',
    }),
    idle: DurationSchema.default('1h').meta({
      description:
        'A session unused for this long ends. At most `ttl`; when not set, 1h or `ttl` if that is shorter.',
    }),
    revalidate: DurationSchema.default('15m').meta({
      description:
        'How often a live session is checked again against the identity provider and the user’s state (disabled, removed from groups).',
    }),
  })
  .default({ ttl: '8h', idle: '1h', revalidate: '15m' })
  .meta({
    description: 'Session lifetimes. Durations are written `90s`, `30m`, `8h`, `7d` or `1h30m`.',
  });

export const TlsSchema = z
  .strictObject({
    cert_file: z.string().min(1).meta({
      description: 'A PEM file with the server certificate chain, leaf first.',
    }),
    key_file: z
      .string()
      .min(1)
      .meta({
        description:
          'A PEM file with the private key of the certificate. Must be mode 0600 or stricter.',
        ...SECRET,
      }),
  })
  .meta({
    description:
      'The certificate `listen` presents. When absent, ztgate issues one from its internal CA for the host of `public_url` and every route.',
  });

export const UpstreamTlsSchema = z
  .strictObject({
    ca_file: z.string().min(1).optional().meta({
      description:
        'CA certificates (PEM) to verify the upstream with, instead of the system ones (for an internal CA).',
    }),
    cert_file: z.string().min(1).optional().meta({
      description:
        'A client certificate (PEM, leaf first) the proxy presents to the upstream: mutual TLS. Needs `key_file`.',
    }),
    key_file: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'The private key of `cert_file` (PEM). Must be mode 0600 or stricter. Needs `cert_file`.',
        ...SECRET,
      }),
    server_name: z.string().min(1).optional().meta({
      description:
        'The DNS name sent in SNI and verified in the upstream’s certificate, when it is not the host of `to` (for example when `to` is an IP address).',
    }),
  })
  .superRefine((tls, ctx) => {
    // A certificate without its key (or the reverse) cannot be used for mTLS; say which is missing.
    if ((tls.cert_file === undefined) === (tls.key_file === undefined)) return;
    const missing = tls.cert_file === undefined ? 'cert_file' : 'key_file';
    const given = missing === 'cert_file' ? 'key_file' : 'cert_file';
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: `\`${given}\` is set without \`${missing}\``,
      params: {
        ztCode: 'ZT_CONFIG_MISSING_KEY',
        help: `mutual TLS to the upstream needs the certificate and its key: add \`${missing}\`, or remove \`${given}\``,
      },
    });
  })
  .meta({
    description:
      'TLS to an `https://` upstream (`to`): the CA to verify it with, a client certificate for mutual TLS, the name to verify. Only for an `https://` `to`.',
  });

export const RouteSchema = z
  .strictObject({
    from: z.string().min(1).meta({
      description:
        'The external URL of the app: `https://`, a host, and an optional path prefix (`https://app.example.com/api`). No query, fragment or user info.',
    }),
    to: z.string().min(1).meta({
      description:
        'The upstream the proxy forwards to: an `http://` or `https://` URL (`http://127.0.0.1:9000`). Plain `http` to a host that is not loopback gives a warning.',
    }),
    policy: z.union([PolicyNameSchema, PolicySchema]).meta({
      description: 'The name of a policy under `policies`, or a policy written inline.',
    }),
    mode: z.enum(['enforce', 'audit']).default('enforce').meta({
      description:
        '`enforce` forwards only allowed requests. `audit` decides and logs but forwards every request, denied ones too (a warning at start): use it to try a policy out.',
    }),
    identity_headers: z.boolean().default(false).meta({
      description:
        'Also send the plain headers `X-Ztgate-User`, `X-Ztgate-Email` and `X-Ztgate-Groups` to the upstream, besides the signed `X-Ztgate-Jwt-Assertion`.',
    }),
    preserve_host: z.boolean().default(false).meta({
      description:
        'Send the client’s `Host` header to the upstream instead of the host of `to` (for apps that build links from it). The original host is always in `X-Forwarded-Host`.',
    }),
    tls: UpstreamTlsSchema.optional(),
  })
  .meta({ description: 'One app behind the proxy.' });

export const DecisionCacheSchema = z
  .union([
    z.literal(false).meta({ description: 'no cache: every request is decided afresh' }),
    z
      .strictObject({
        max_entries: z.number().int().min(1).max(10_000_000).default(10_000).meta({
          description: 'The most decisions kept; the oldest goes first.',
        }),
        ttl: duration({ min: 1 })
          .default('10s')
          .meta({ description: 'The longest a decision is reused.' }),
      })
      .meta({ description: 'a bounded cache' }),
  ])
  .default({ max_entries: 10_000, ttl: '10s' })
  .meta({
    description:
      'Reuse the decision for a request that presents the same facts (route, session, device, request class) for a short time; revocations, posture changes and policy changes drop entries at once. `false` decides every request.',
  });

export const ACCESS_LOG_TARGETS = ['stdout', 'stderr', 'off'] as const;

export const ProxySchema = z
  .strictObject({
    trusted_proxies: z.array(z.string().min(1)).max(1000).default([]).meta({
      description:
        'The proxies in front of ztgate (load balancers, nginx, Caddy), as addresses or CIDRs (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`): only their `X-Forwarded-*`, `Forwarded` and `X-Original-*` headers are believed, everyone else’s are removed.',
    }),
    max_request_body: size('10MiB').meta({
      description:
        'The largest request body forwarded; a larger one gets 413. A number of bytes or a size: `512KiB`, `10MiB`, `1GB`. The loaded config holds bytes.',
    }),
    upstream_timeout: duration({ min: 1 }).default('30s').meta({
      description:
        'An upstream silent this long (no connection, no response, no body bytes) gets the client a 504.',
    }),
    upstream_idle_connections: z.number().int().min(0).max(10_000).default(64).meta({
      description: 'Idle keep-alive connections kept open per upstream (0: none).',
    }),
    client_keepalive: duration({ min: 1 }).default('65s').meta({
      description:
        'How long an idle keep-alive client connection stays open. Longer than a load balancer’s idle timeout in front of ztgate, so that it closes first.',
    }),
    drain_timeout: duration().default('10s').meta({
      description:
        'On SIGTERM, how long running requests may finish (new ones are refused, `/readyz` says 503) before the rest are cut.',
    }),
    tunnel_recheck: duration({ min: 1000 }).default('60s').meta({
      description:
        'Open WebSockets and tunnels are decided again this often (session expiry, MFA age, time windows). Revocations cut them at once regardless.',
    }),
    decision_cache: DecisionCacheSchema,
    access_log: z
      .string()
      .min(1)
      .default('stdout')
      .meta({
        description:
          'Where the access log (one JSON line per request) goes: `stdout`, `stderr`, `off`, or a file path containing a `/` (`/var/log/ztgate/access.log`, `./access.log`), relative to the directory of the config file.',
        examples: ['stdout', 'off', '/var/log/ztgate/access.log'],
      }),
  })
  .meta({
    description:
      'The identity-aware proxy: trusted proxies in front of it, limits, timeouts, the decision cache and the access log.',
  });

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** SPIFFE trust domains as src/pki/spiffe.ts accepts them: lower-case letters, digits, `.`, `-`, `_`. */
export const TRUST_DOMAIN_PATTERN = '^[a-z0-9._-]{1,255}$';

/**
 * Certificate lifetimes. The bounds are those src/pki/ca/profiles.ts enforces at issuance (a test
 * compares them), so a config the loader accepts never fails later for a lifetime.
 */
export const PKI_TTL_BOUNDS = {
  server_cert_ttl: { min: 60_000, max: 397 * DAY_MS },
  device_cert_ttl: { min: 60_000, max: 397 * DAY_MS },
  svid_ttl: { min: 60_000, max: 24 * HOUR_MS },
} as const;

export const PkiSchema = z
  .strictObject({
    trust_domain: z
      .string()
      .regex(
        new RegExp(TRUST_DOMAIN_PATTERN),
        'expected a SPIFFE trust domain: lower-case letters, digits, `.`, `-` or `_`, such as `example.org`',
      )
      .optional()
      .meta({
        description:
          'The SPIFFE trust domain of the internal CA: workload identities are `spiffe://<trust_domain>/...`. `ztgate ca init` creates the CA for it (unless given `--trust-domain`); it must match the trust domain of an existing CA. When absent, the host of `public_url`.',
        examples: ['example.org'],
      }),
    server_cert_ttl: duration(PKI_TTL_BOUNDS.server_cert_ttl).default('30d').meta({
      description:
        'The life of server certificates: the listener certificate the CA issues when `tls` is absent (renewed when half of it has passed), and `ztgate ca issue --type server` without `--ttl`. At most 397d.',
    }),
    device_cert_ttl: duration(PKI_TTL_BOUNDS.device_cert_ttl).default('30d').meta({
      description:
        'The life of device certificates, at enrollment and at each renewal (agents renew after two thirds of it), and of `ztgate ca issue --type device` without `--ttl`. At most 397d.',
    }),
    svid_ttl: duration(PKI_TTL_BOUNDS.svid_ttl).default('1h').meta({
      description:
        'The life of workload identities (X.509-SVIDs) issued without an explicit lifetime, as by `ztgate ca issue --type svid` without `--ttl`. At most 24h.',
    }),
  })
  .meta({
    description:
      'The internal certificate authority (docs/pki.md): its trust domain and the lifetimes of the certificates it issues.',
  });

export const AuditSchema = z
  .strictObject({
    batch_window: duration().default('100ms').meta({
      description:
        'How long audit records gather before one transaction writes them. Also the most a `kill -9` can lose (see docs/audit.md).',
    }),
    backlog_limit: z.number().int().min(1000).max(10_000_000).default(100_000).meta({
      description: 'How many records may wait for the database before `on_backlog_full` applies.',
    }),
    on_backlog_full: z.enum(['fail_closed', 'drop_oldest']).default('fail_closed').meta({
      description:
        '`fail_closed` denies new requests with 503 while the backlog is full (nothing unrecorded is allowed); `drop_oldest` keeps serving and drops the oldest waiting records, with a warning.',
    }),
    checkpoint_interval: duration().default('1m').meta({
      description: 'How often a signed checkpoint (head hash, count, time) is written.',
    }),
    retention: duration().optional().meta({
      description:
        'Delete records older than this (`90d`); a signed anchor keeps the rest verifiable. Off when absent.',
    }),
    syslog: z
      .strictObject({
        address: z
          .string()
          .min(1)
          .meta({ description: 'The receiver, `host:port` (RFC 5424 over TCP).' }),
        tls: z.boolean().default(false).meta({ description: 'Use TLS to the receiver.' }),
        ca_file: z.string().min(1).optional().meta({
          description:
            'CA certificates (PEM) to verify the receiver with, instead of the system ones.',
        }),
      })
      .optional()
      .meta({ description: 'Stream every record to a syslog receiver (a SIEM).' }),
    webhook: z
      .strictObject({
        url: z
          .string()
          .min(1)
          .meta({ description: 'An `https://` URL that receives JSON batches of records.' }),
        secret_file: z
          .string()
          .min(1)
          .optional()
          .meta({
            ...SECRET,
            description:
              'A file holding the shared secret for the batch signature header. Must be mode 0600 or stricter.',
          }),
        ca_file: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'CA certificates (PEM) to verify the webhook server with.' }),
      })
      .optional()
      .meta({ description: 'POST every record, in batches, to a webhook.' }),
  })
  .meta({
    description: 'The tamper-evident audit log: batching, backlog behaviour, retention and export.',
  });

export const ConfigSchema = z
  .strictObject({
    data_dir: z.string().min(1).default('./.ztgate').meta({
      description:
        'The directory for the CA keys (mode 0600), the SQLite database and other state. A relative path is relative to the directory of the config file.',
    }),
    listen: ListenSchema.default('127.0.0.1:8443').meta({
      description:
        'The address of the HTTPS listener (`host:port`; IPv6 in brackets: `[::1]:8443`). TLS is always on.',
    }),
    public_url: z.string().min(1).default('https://auth.localhost:8443').meta({
      description:
        'The external `https://` URL of ztgate itself (login, JWKS, forward-auth, portal, admin): a scheme, a host and an optional port, no path. Also the `iss` of the JWTs sent to upstreams.',
    }),
    metrics_listen: ListenSchema.optional().meta({
      description:
        'The address of the Prometheus `/metrics` listener (`127.0.0.1:9090`). Off when absent.',
    }),
    workers: z
      .union([z.int().min(1).max(64), z.literal('auto')])
      .default(1)
      .meta({
        description:
          'Server processes sharing `listen` (Node runs one thread of JavaScript per process): `auto` is one per CPU. Workers relay change events to each other (SQLite) or use PostgreSQL LISTEN/NOTIFY like replicas.',
      }),
    store: StoreSchema,
    identity: IdentitySchema,
    session: SessionSchema,
    tls: TlsSchema.optional(),
    audit: AuditSchema.default({
      batch_window: '100ms',
      backlog_limit: 100_000,
      on_backlog_full: 'fail_closed',
      checkpoint_interval: '1m',
    }),
    // `prefault`: the defaults are those of each key, written once, in the section's schema.
    proxy: ProxySchema.prefault({}),
    pki: PkiSchema.prefault({}),
    devices: DevicesConfigSchema.prefault({}),
    routes: z.array(RouteSchema).default([]).meta({
      description: 'The apps behind the proxy. Two routes may not have the same `from`.',
    }),
    policies: z.record(PolicyNameSchema, PolicySchema).default({}).meta({
      description: 'Named policies, which routes refer to by name.',
    }),
  })
  .meta({ description: 'The configuration of a ztgate server (ztgate.yaml).' });

/** A loaded config: every default filled in, every relative path made absolute. */
export type Config = z.output<typeof ConfigSchema>;
/** What a config file may hold: defaults are optional. */
export type ConfigInput = z.input<typeof ConfigSchema>;
export type Route = z.output<typeof RouteSchema>;
export type OidcConfig = z.output<typeof OidcSchema>;
export type IdentityConfig = z.output<typeof IdentitySchema>;
export type SessionConfig = z.output<typeof SessionSchema>;
export type TlsConfig = z.output<typeof TlsSchema>;
export type AuditConfig = z.output<typeof AuditSchema>;
export type RouteMode = Route['mode'];
/** A route's `tls`: TLS to its `https://` upstream. */
export type UpstreamTlsConfig = z.output<typeof UpstreamTlsSchema>;
/** The `proxy:` section; `max_request_body` in bytes, durations as written (`30s`). */
export type ProxyConfig = z.output<typeof ProxySchema>;
export type DecisionCacheConfig = z.output<typeof DecisionCacheSchema>;
/** The `pki:` section; durations as written (`30d`). */
export type PkiConfig = z.output<typeof PkiSchema>;
/** The `devices:` section (src/device/settings-schema.ts); `checkDeviceSettings` makes it runtime settings. */
export type DevicesConfig = z.output<typeof DevicesConfigSchema>;

/** `ZTGATE_CONFIG` names the config file; it is not a config key. */
export const CONFIG_PATH_ENV = 'ZTGATE_CONFIG';
export const DEFAULT_CONFIG_PATH = './ztgate.yaml';
/** Every environment override is `ZTGATE_` + the key path, upper-cased and joined by `_`. */
export const ENV_PREFIX = 'ZTGATE_';
