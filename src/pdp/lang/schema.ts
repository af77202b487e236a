/**
 * The policy language's syntax as one zod schema: the source of the TypeScript types, the
 * structural validation of ztgate.yaml and the JSON Schema in docs/ for editors.
 *
 * This module imports only zod, so the config schema can embed it without the config depending on
 * the rest of the PDP. Semantic checks the schema cannot express (CIDRs, time zones, globs, ranges)
 * happen in ./parse.ts, which turns the validated syntax into the AST with source locations.
 */
import { z } from 'zod';

const DURATION_PATTERN = '^(0|([0-9]{1,9}(ms|s|m|h|d))+)$';

const nonEmpty = z.string().min(1);

/** A list criterion also accepts a single value: `groups: admins` means `groups: [admins]`. */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1)]);
}

export const DurationSchema = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'expected a duration such as `90s`, `30m`, `8h` or `1h30m`')
  .meta({ description: 'A duration: `90s`, `30m`, `8h`, `7d`, or a combination such as `1h30m`.' });

const ScalarSchema = z.union([z.string(), z.number(), z.boolean()]);

const RangeSchema = z
  .strictObject({
    min: z.number().optional().meta({ description: 'inclusive lower bound' }),
    max: z.number().optional().meta({ description: 'inclusive upper bound' }),
  })
  .meta({ description: 'A numeric range; both bounds are inclusive.' });

const PostureConditionSchema = z.union([
  ScalarSchema.meta({ description: 'the attribute must equal this value' }),
  RangeSchema,
  z
    .strictObject({ in: z.array(ScalarSchema).min(1) })
    .meta({ description: 'the attribute must equal one of these values' }),
]);

const MfaSchema = z.union([
  z.literal(true).meta({ description: 'any multi-factor authentication' }),
  z
    .strictObject({
      required: z.boolean().optional().meta({
        description: 'MFA must have happened in this session (implied by `max_age` and `methods`)',
      }),
      max_age: DurationSchema.optional().meta({
        description: 'the last MFA must be at most this old; older gives a step-up decision',
      }),
      methods: oneOrMany(nonEmpty).optional().meta({
        description: 'accepted methods (`webauthn`, `totp`, `hwk`, ...); any of them will do',
      }),
    })
    .meta({ description: 'Multi-factor authentication requirements.' }),
]);

const DeviceSchema = z
  .strictObject({
    managed: z.boolean().optional().meta({ description: 'the device is (or is not) managed' }),
    tier: oneOrMany(nonEmpty).optional().meta({ description: 'accepted trust tiers' }),
    posture: z
      .record(nonEmpty, PostureConditionSchema)
      .optional()
      .meta({ description: 'posture attributes and their required values or ranges' }),
  })
  .meta({
    description: 'Requirements on the device the request comes from. `{}` means any known device.',
  });

const TimeSchema = z
  .strictObject({
    days: oneOrMany(nonEmpty).optional().meta({
      description:
        'days of the week: `mon`..`sun`, ranges such as `mon-fri`, or `weekdays`/`weekend`',
    }),
    hours: oneOrMany(nonEmpty).optional().meta({
      description:
        'local time ranges such as `"09:00-17:00"`; an end before the start wraps past midnight',
    }),
    tz: nonEmpty
      .optional()
      .meta({ description: 'IANA time zone for `days`, `hours` and dates (default UTC)' }),
    from: nonEmpty.optional().meta({
      description: 'first date (`2026-01-01`, inclusive) or instant (RFC 3339 with offset)',
    }),
    until: nonEmpty.optional().meta({
      description:
        'last date (`2026-12-31`, inclusive) or instant (RFC 3339 with offset, exclusive)',
    }),
  })
  .meta({ description: 'When access is allowed.' });

const ClientCertSchema = z.union([
  z.literal(true).meta({ description: 'any client certificate that passed verification' }),
  z.strictObject({
    spiffe_id: oneOrMany(nonEmpty).optional().meta({
      description:
        'SPIFFE ID patterns: `spiffe://example.org/ns/prod/*`; `*` is one segment, `**` any',
    }),
    fingerprint: oneOrMany(nonEmpty)
      .optional()
      .meta({ description: 'SHA-256 fingerprints of accepted certificates (hex, colons allowed)' }),
  }),
]);

/** The syntax of one rule: every criterion present must hold (AND). */
export interface RuleSyntax {
  public?: true | undefined;
  authenticated?: true | undefined;
  users?: string | string[] | undefined;
  domains?: string | string[] | undefined;
  groups?: string | string[] | undefined;
  claims?: Record<string, string | number | boolean | (string | number | boolean)[]> | undefined;
  mfa?: z.infer<typeof MfaSchema> | undefined;
  device?: z.infer<typeof DeviceSchema> | undefined;
  methods?: string | string[] | undefined;
  paths?: string | string[] | undefined;
  time?: z.infer<typeof TimeSchema> | undefined;
  source_ip?: string | string[] | undefined;
  countries?: string | string[] | undefined;
  risk?: z.infer<typeof RangeSchema> | undefined;
  client_cert?: z.infer<typeof ClientCertSchema> | undefined;
  any?: RuleSyntax[] | undefined;
  all?: RuleSyntax[] | undefined;
  not?: RuleSyntax | undefined;
}

export const RuleSchema: z.ZodType<RuleSyntax> = z
  .strictObject({
    public: z
      .literal(true)
      .optional()
      .meta({ description: 'holds for everyone, signed in or not' }),
    authenticated: z.literal(true).optional().meta({ description: 'holds for any signed-in user' }),
    users: oneOrMany(nonEmpty)
      .optional()
      .meta({ description: 'user emails or ids (emails compare case-insensitively)' }),
    domains: oneOrMany(nonEmpty)
      .optional()
      .meta({ description: 'email domains, e.g. `example.com` (exact, case-insensitive)' }),
    groups: oneOrMany(nonEmpty)
      .optional()
      .meta({ description: 'the user must be in at least one of these groups' }),
    claims: z
      .record(nonEmpty, z.union([ScalarSchema, z.array(ScalarSchema).min(1)]))
      .optional()
      .meta({
        description: 'identity claims and accepted values; a list accepts any of its values',
      }),
    mfa: MfaSchema.optional(),
    device: DeviceSchema.optional(),
    methods: oneOrMany(
      z.string().regex(/^[A-Za-z]{1,20}$/, 'expected an HTTP method such as `GET`'),
    )
      .optional()
      .meta({ description: 'HTTP methods' }),
    paths: oneOrMany(nonEmpty).optional().meta({
      description: 'path globs on the normalized path: `*` within a segment, `**` across segments',
    }),
    time: TimeSchema.optional(),
    source_ip: oneOrMany(nonEmpty)
      .optional()
      .meta({ description: 'IPv4/IPv6 addresses or CIDRs: a signal, never trust by itself' }),
    countries: oneOrMany(nonEmpty)
      .optional()
      .meta({ description: 'ISO 3166-1 alpha-2 country codes' }),
    risk: RangeSchema.optional().meta({
      description: 'the risk score (0-100) must lie in this range',
    }),
    client_cert: ClientCertSchema.optional(),
    get any() {
      return z
        .array(RuleSchema)
        .min(1)
        .optional()
        .meta({ description: 'holds when any nested rule holds' });
    },
    get all() {
      return z
        .array(RuleSchema)
        .min(1)
        .optional()
        .meta({ description: 'holds when every nested rule holds' });
    },
    get not() {
      return RuleSchema.optional().meta({ description: 'holds when the nested rule does not' });
    },
  })
  .meta({ id: 'Rule', description: 'A rule: every criterion in it must hold.' });

export const PolicySchema = z
  .strictObject({
    description: z
      .string()
      .optional()
      .meta({ description: 'what the policy is for, for people reading it' }),
    allow: z
      .array(RuleSchema)
      .optional()
      .meta({ description: 'the request is allowed when any of these rules holds' }),
    deny: z
      .array(RuleSchema)
      .optional()
      .meta({ description: 'the request is denied when any of these rules holds; deny wins' }),
  })
  .meta({ id: 'Policy', description: 'A policy: deny rules win; nothing matching means deny.' });

export type PolicySyntax = z.infer<typeof PolicySchema>;

/** The names of every criterion key, for "did you mean" and the docs. */
export const CRITERION_KEYS = [
  'public',
  'authenticated',
  'users',
  'domains',
  'groups',
  'claims',
  'mfa',
  'device',
  'methods',
  'paths',
  'time',
  'source_ip',
  'countries',
  'risk',
  'client_cert',
] as const;
export type CriterionKey = (typeof CRITERION_KEYS)[number];
export const COMBINATOR_KEYS = ['any', 'all', 'not'] as const;
