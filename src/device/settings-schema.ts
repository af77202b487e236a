/**
 * The `devices:` section of ztgate.yaml as one zod schema: the source of its TypeScript types, its
 * structural validation and its part of docs/config.schema.json.
 *
 * This module imports only zod and src/shared, so that the config schema can embed it without the
 * config depending on the rest of the device component (as it embeds the PDP's
 * src/pdp/lang/schema.ts). Everything that can be said without device code is checked here, with
 * the path of the value, so that the config loader reports it at its line: duration bounds, ranges,
 * JSON pointers, the form of webhook mappings, duplicate webhook names. What needs the posture
 * schema (which attribute names exist, which a webhook may write, their types) is checked by
 * `checkDeviceSettings` in ./settings.ts, which `ztgate policy check` and the server run on a loaded
 * config.
 */
import { z } from 'zod';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../shared/duration.js';

const DURATION = new RegExp(DURATION_PATTERN);

/** User input in a message: in backticks, cut to a readable length, control characters escaped. */
function shown(text: string): string {
  const cut = text.length > 64 ? `${text.slice(0, 61)}...` : text;
  // eslint-disable-next-line no-control-regex
  const safe = /[\u0000-\u001f\u007f`]/.test(cut)
    ? JSON.stringify(cut).slice(1, -1).replaceAll('`', '\\u0060')
    : cut;
  return `\`${safe}\``;
}

/**
 * A duration from `minMs` to `maxMs`. The pattern is the one every duration in the config has (so the
 * loader words a malformed one the same way everywhere); the refinement refuses what the pattern
 * lets through but is no usable duration (`1h2h`, more than 10 years) and values out of range.
 */
function duration(minMs: number, maxMs?: number) {
  return z
    .string()
    .regex(DURATION, 'expected a duration such as `90s`, `30m`, `8h`')
    .superRefine((text, ctx) => {
      if (!DURATION.test(text)) return; // the pattern already said so
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${shown(text)} is not a usable duration`,
          params: {
            ztCode: 'ZT_CONFIG_INVALID_DURATION',
            help: 'a duration is at most 10 years and names each unit once, such as `1h30m`',
          },
        });
      } else if (ms < minMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration of at least ${formatDuration(minMs)}, got ${shown(text)}`,
        });
      } else if (maxMs !== undefined && ms > maxMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration of at most ${formatDuration(maxMs)}, got ${shown(text)}`,
        });
      }
    })
    .meta({ description: 'A duration: `90s`, `30m`, `8h`, `7d`, or `1h30m`.' });
}

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A numeric range of a posture condition; at least one bound, and not an empty range. */
const RangeSchema = z
  .strictObject({
    min: z.number().optional().meta({ description: 'inclusive lower bound' }),
    max: z.number().optional().meta({ description: 'inclusive upper bound' }),
  })
  .meta({ description: 'a numeric range, bounds inclusive' });

// The range comes before `in`: for `{}` both branches fail on one issue, and the range's (a range
// needs a bound) is the one to report.
export const PostureConditionSchema = z.union([
  Scalar.meta({ description: 'the attribute must equal this value (strictly)' }),
  RangeSchema,
  z
    .strictObject({
      in: z
        .array(Scalar)
        .min(1)
        .meta({ description: 'the attribute must equal one of these values' }),
    })
    .meta({ description: 'one of these values' }),
]);

export type PostureConditionInput = z.output<typeof PostureConditionSchema>;

export const TIER_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,63}$';

export const TierRuleSchema = z
  .strictObject({
    managed: z.boolean().optional().meta({ description: 'the device is (or is not) managed' }),
    posture: z.record(z.string().min(1), PostureConditionSchema).default({}).meta({
      description:
        'posture attributes and their required values, as in a policy `device.posture` (unknown posture never matches)',
    }),
  })
  .superRefine((rule, ctx) => {
    for (const [attribute, c] of Object.entries(rule.posture)) {
      if (typeof c !== 'object' || 'in' in c) continue;
      if (c.min === undefined && c.max === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['posture', attribute],
          message: 'a range needs `min`, `max` or both',
          params: { help: 'write `{min: 1}`, `{max: 30}` or `{min: 1, max: 30}`' },
        });
      } else if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
        ctx.addIssue({
          code: 'custom',
          path: ['posture', attribute],
          message: `the range is empty (\`min\` ${c.min} > \`max\` ${c.max})`,
          params: { help: 'no value could ever meet it: swap the bounds' },
        });
      }
    }
  })
  .meta({ description: 'What a device needs to be in this tier; every condition must hold.' });

/** RFC 6901: empty (the whole document) or `/`-separated reference tokens. */
function checkPointer(pointer: string, ctx: z.RefinementCtx, path: (string | number)[]): void {
  if (pointer !== '' && !pointer.startsWith('/')) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `the JSON pointer ${shown(pointer)} does not start with \`/\``,
      params: { help: `write ${shown(`/${pointer}`)}` },
    });
  }
}

export const MapRuleSchema = z
  .strictObject({
    pointer: z.string().meta({ description: 'a JSON pointer into the payload (`/risk/score`)' }),
    type: z.enum(['boolean', 'number', 'string']).optional().meta({
      description: 'take the value as is; it must have this type',
    }),
    equals: Scalar.optional().meta({
      description: 'the attribute is `true` when the value equals this, else `false`',
    }),
    in: z.array(Scalar).min(1).optional().meta({
      description: 'the attribute is `true` when the value is one of these, else `false`',
    }),
  })
  .superRefine((rule, ctx) => {
    checkPointer(rule.pointer, ctx, ['pointer']);
    const forms = [rule.type, rule.equals, rule.in].filter((f) => f !== undefined).length;
    if (forms !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          forms === 0
            ? 'a mapping needs one of `type`, `equals` or `in`'
            : 'a mapping takes exactly one of `type`, `equals` or `in`',
        params: {
          help: '`type` takes the value as it is; `equals` and `in` turn it into `true` or `false`',
        },
      });
    }
  })
  .meta({ description: 'How one posture attribute is read from the webhook payload.' });

export const WEBHOOK_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,30}$';

export const WebhookSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        new RegExp(WEBHOOK_NAME_PATTERN),
        'expected a webhook name: 1-31 lower-case letters, digits, `_` or `-`, starting with a letter',
      )
      .meta({
        description:
          'the webhook name: its URL is `{public_url}/api/device/signals/<name>` and its own attributes are `<name>.<attr>`',
      }),
    secret_file: z.string().min(1).meta({
      description:
        'a file holding the shared HMAC secret, one per line (several during a rotation); mode 0600',
      'x-ztgate-secret': true,
    }),
    ttl: duration(1000)
      .default('1h')
      .meta({ description: 'attributes from this webhook older than this are unknown' }),
    tolerance: duration(1000).default('5m').meta({
      description: 'accepted difference between the request timestamp and the server clock',
    }),
    device: z
      .strictObject({
        pointer: z.string().meta({ description: 'JSON pointer to the device identifier' }),
        match: z.enum(['id', 'hostname']).default('id').meta({
          description:
            '`id`: the ztgate device id (recommended); `hostname`: exactly one active device with that host name',
        }),
      })
      .superRefine((device, ctx) => checkPointer(device.pointer, ctx, ['pointer']))
      .meta({ description: 'Where the payload names the device.' }),
    map: z.record(z.string().min(1), MapRuleSchema).meta({
      description: 'posture attribute -> how to read it from the payload',
    }),
  })
  .meta({ description: 'An authenticated webhook for MDM or EDR posture signals.' });

export const DevicesConfigSchema = z
  .strictObject({
    report_interval: duration(5000).default('60s').meta({
      description:
        'how often the agent reports when nothing changed (it reports at once on a change); at least 5s',
    }),
    posture_ttl: duration(1000).default('5m').meta({
      description:
        'agent posture older than this is unknown: its attributes are absent and policies that ask for them deny',
    }),
    report_window: duration(1000).default('5m').meta({
      description: 'accepted clock difference between a report’s `sent_at` and the server',
    }),
    history: z.number().int().min(1).max(1000).default(20).meta({
      description: 'how many posture reports and signals are kept per device',
    }),
    enroll_code_ttl: duration(1000, 24 * 3_600_000)
      .default('10m')
      .meta({
        description: 'how long a one-time enrollment code is valid; at most 24h',
      }),
    edr_processes: z.array(z.string().min(1).max(64)).max(32).default([]).meta({
      description:
        'process names of the EDR/antivirus the agent looks for (`falcon-sensor`, `mdatp`); `edr_running` is true when one runs',
    }),
    tiers: z
      .record(
        z
          .string()
          .regex(
            new RegExp(TIER_NAME_PATTERN),
            'expected a tier name: a letter, then up to 63 letters, digits, `_` or `-`',
          ),
        TierRuleSchema,
      )
      .default({})
      .meta({
        description:
          'trust tiers in order: a device gets the first one whose rule it meets, or no tier',
      }),
    webhooks: z
      .array(WebhookSchema)
      .max(16)
      .superRefine((hooks, ctx) => {
        const first = new Map<string, number>();
        hooks.forEach((h, i) => {
          const before = first.get(h.name);
          if (before === undefined) first.set(h.name, i);
          else
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `two webhooks are named ${shown(h.name)}`,
              params: {
                help: `\`webhooks[${before}]\` has that name too: a name is the webhook's URL, give each its own`,
              },
            });
        });
      })
      .default([])
      .meta({ description: 'third-party posture signals (MDM, EDR)' }),
  })
  .meta({ description: 'Device trust: posture reports, staleness, trust tiers, signal webhooks.' });

/** The `devices:` section as loaded: defaults filled in, durations as written. */
export type DevicesConfig = z.output<typeof DevicesConfigSchema>;
/** What a `devices:` section may hold: defaults are optional. */
export type DevicesConfigInput = z.input<typeof DevicesConfigSchema>;
export type TierRuleConfig = z.output<typeof TierRuleSchema>;
export type WebhookConfig = z.output<typeof WebhookSchema>;
export type MapRuleConfig = z.output<typeof MapRuleSchema>;
