/**
 * The schema of ztgate.yaml: the one source of the `Config` type, the runtime validator
 * (`ConfigSchema.safeParse`), the JSON Schema in docs/config.schema.json and the reference in
 * docs/config.md. Every object is strict (an unknown key is an error, with a "did you mean"), every
 * key has a description, and every top-level key has a default, so a file holding only `policies:`
 * is a whole config.
 *
 * The schema checks shapes. What it cannot say (URLs, listen addresses, duration bounds, routes
 * naming existing policies, secret files) is checked afterwards by ./check.ts, with locations.
 * The policy language itself (`PolicySchema`) belongs to the PDP and is embedded as is.
 */
import { z } from 'zod';
import { DurationSchema, PolicySchema } from '../pdp/lang/schema.js';

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
  })
  .meta({ description: 'One app behind the proxy.' });

export const AuditSchema = z
  .strictObject({
    batch_window: DurationSchema.default('100ms').meta({
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
    checkpoint_interval: DurationSchema.default('1m').meta({
      description: 'How often a signed checkpoint (head hash, count, time) is written.',
    }),
    retention: DurationSchema.optional().meta({
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

/** `ZTGATE_CONFIG` names the config file; it is not a config key. */
export const CONFIG_PATH_ENV = 'ZTGATE_CONFIG';
export const DEFAULT_CONFIG_PATH = './ztgate.yaml';
/** Every environment override is `ZTGATE_` + the key path, upper-cased and joined by `_`. */
export const ENV_PREFIX = 'ZTGATE_';
