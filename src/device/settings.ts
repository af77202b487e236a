/**
 * Device trust settings: the `devices:` section proposed for ztgate.yaml (the config owner embeds
 * `DevicesConfigSchema`; until then the server and the CLI take these as options), and their
 * runtime form with durations in milliseconds and tier rules checked.
 *
 * ```yaml
 * devices:
 *   report_interval: 60s        # how often the agent reports when nothing changes
 *   posture_ttl: 5m             # older agent posture is unknown: its attributes are absent
 *   report_window: 5m           # accepted clock skew of a report's `sent_at`
 *   history: 20                 # posture reports kept per device
 *   enroll_code_ttl: 10m
 *   edr_processes: [falcon-sensor, mdatp]
 *   tiers:                      # first match in written order wins; none: no tier
 *     high: {managed: true, posture: {disk_encrypted: true, firewall: true, os_patch_age_days: {max: 14}}}
 *     medium: {managed: true, posture: {disk_encrypted: true}}
 *   webhooks:
 *     - name: intune
 *       secret_file: /etc/ztgate/intune.secret
 *       ttl: 24h
 *       device: {pointer: /device/ztgate_id}
 *       map:
 *         mdm_compliant: {pointer: /complianceState, equals: compliant}
 *         intune.owner: {pointer: /ownerType, type: string}
 * ```
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../shared/duration.js';
import { DeviceError, quote } from './errors.js';
import {
  attributeSpec,
  isNamespacedName,
  isPlainName,
  namespaceOf,
  AGENT_NAMESPACE,
} from './posture/schema.js';

const Duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'expected a duration such as `90s`, `30m`, `8h`')
  .meta({ description: 'A duration: `90s`, `30m`, `8h`, `7d`, or `1h30m`.' });

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

const Condition = z.union([
  Scalar.meta({ description: 'the attribute must equal this value (strictly)' }),
  z
    .strictObject({ min: z.number().optional(), max: z.number().optional() })
    .meta({ description: 'a numeric range, bounds inclusive' }),
  z.strictObject({ in: z.array(Scalar).min(1) }).meta({ description: 'one of these values' }),
]);

const TIER_NAME = '^[A-Za-z][A-Za-z0-9_-]{0,63}$';

export const TierRuleSchema = z
  .strictObject({
    managed: z.boolean().optional().meta({ description: 'the device is (or is not) managed' }),
    posture: z.record(z.string().min(1), Condition).default({}).meta({
      description:
        'posture attributes and their required values, as in a policy `device.posture` (unknown posture never matches)',
    }),
  })
  .meta({ description: 'What a device needs to be in this tier; every condition must hold.' });

const MapRuleSchema = z
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
  .meta({ description: 'How one posture attribute is read from the webhook payload.' });

export const WebhookSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,30}$/, 'expected 1-31 lower-case letters, digits, `_` or `-`')
      .meta({
        description:
          'the webhook name: its URL is `{public_url}/api/device/signals/<name>` and its own attributes are `<name>.<attr>`',
      }),
    secret_file: z.string().min(1).meta({
      description:
        'a file holding the shared HMAC secret, one per line (several during a rotation); mode 0600',
      'x-ztgate-secret': true,
    }),
    ttl: Duration.default('1h').meta({
      description: 'attributes from this webhook older than this are unknown',
    }),
    tolerance: Duration.default('5m').meta({
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
      .meta({ description: 'Where the payload names the device.' }),
    map: z.record(z.string().min(1), MapRuleSchema).meta({
      description: 'posture attribute -> how to read it from the payload',
    }),
  })
  .meta({ description: 'An authenticated webhook for MDM or EDR posture signals.' });

export const DevicesConfigSchema = z
  .strictObject({
    report_interval: Duration.default('60s').meta({
      description:
        'how often the agent reports when nothing changed (it reports at once on a change)',
    }),
    posture_ttl: Duration.default('5m').meta({
      description:
        'agent posture older than this is unknown: its attributes are absent and policies that ask for them deny',
    }),
    report_window: Duration.default('5m').meta({
      description: 'accepted clock difference between a report’s `sent_at` and the server',
    }),
    history: z.number().int().min(1).max(1000).default(20).meta({
      description: 'how many posture reports are kept per device',
    }),
    enroll_code_ttl: Duration.default('10m').meta({
      description: 'how long a one-time enrollment code is valid',
    }),
    edr_processes: z.array(z.string().min(1).max(64)).max(32).default([]).meta({
      description:
        'process names of the EDR/antivirus the agent looks for (`falcon-sensor`, `mdatp`); `edr_running` is true when one runs',
    }),
    tiers: z
      .record(z.string().regex(new RegExp(TIER_NAME)), TierRuleSchema)
      .default({})
      .meta({
        description:
          'trust tiers in order: a device gets the first one whose rule it meets, or no tier',
      }),
    webhooks: z.array(WebhookSchema).max(16).default([]).meta({
      description: 'third-party posture signals (MDM, EDR)',
    }),
  })
  .meta({ description: 'Device trust: posture reports, staleness, trust tiers, signal webhooks.' });

export type DevicesConfig = z.output<typeof DevicesConfigSchema>;
export type DevicesConfigInput = z.input<typeof DevicesConfigSchema>;

// ---------------------------------------------------------------------------------------------
// runtime form

export type Scalar = boolean | number | string;

export type PostureCondition =
  | { readonly op: 'eq'; readonly value: Scalar }
  | { readonly op: 'in'; readonly values: readonly Scalar[] }
  | { readonly op: 'range'; readonly min: number; readonly max: number };

export interface TierRule {
  readonly name: string;
  readonly managed?: boolean;
  readonly posture: readonly { readonly attribute: string; readonly condition: PostureCondition }[];
}

export type MapRule =
  | {
      readonly pointer: string;
      readonly kind: 'value';
      readonly type: 'boolean' | 'number' | 'string';
    }
  | { readonly pointer: string; readonly kind: 'equals'; readonly values: readonly Scalar[] };

export interface WebhookSettings {
  readonly name: string;
  readonly secretFile: string;
  readonly ttlMs: number;
  readonly toleranceMs: number;
  readonly device: { readonly pointer: string; readonly match: 'id' | 'hostname' };
  readonly map: readonly { readonly attribute: string; readonly rule: MapRule }[];
}

export interface DeviceTrustSettings {
  readonly reportIntervalMs: number;
  readonly postureTtlMs: number;
  readonly reportWindowMs: number;
  readonly historySize: number;
  readonly enrollCodeTtlMs: number;
  readonly edrProcesses: readonly string[];
  readonly tiers: readonly TierRule[];
  readonly webhooks: readonly WebhookSettings[];
}

function settingsError(message: string, help?: string): DeviceError {
  return new DeviceError('ZT_DEVICE_SETTINGS_INVALID', message, help ? { help } : undefined);
}

function ms(text: string, key: string, min: number): number {
  const value = parseDuration(text);
  if (value === undefined) throw settingsError(`\`devices.${key}\` is not a duration`);
  if (value < min) throw settingsError(`\`devices.${key}\` must be at least ${min / 1000}s`);
  return value;
}

function condition(raw: z.output<typeof Condition>, where: string): PostureCondition {
  if (typeof raw !== 'object') return { op: 'eq', value: raw };
  if ('in' in raw) return { op: 'in', values: raw.in };
  if (raw.min === undefined && raw.max === undefined)
    throw settingsError(`${where}: a range needs \`min\`, \`max\` or both`);
  const min = raw.min ?? -Infinity;
  const max = raw.max ?? Infinity;
  if (min > max)
    throw settingsError(`${where}: the range is empty (\`min\` ${min} > \`max\` ${max})`);
  return { op: 'range', min, max };
}

function checkPostureName(name: string, where: string): void {
  if (!isPlainName(name) && !isNamespacedName(name))
    throw settingsError(`${where}: ${quote(name)} is not a posture attribute name`);
}

/** Turns the (schema-validated) config section into the runtime settings; checks what the schema cannot. */
export function deviceSettingsFrom(config: DevicesConfig): DeviceTrustSettings {
  const tiers: TierRule[] = [];
  for (const [name, rule] of Object.entries(config.tiers)) {
    const posture = Object.entries(rule.posture).map(([attribute, c]) => {
      const where = `\`devices.tiers.${name}.posture.${attribute}\``;
      checkPostureName(attribute, where);
      return { attribute, condition: condition(c, where) };
    });
    tiers.push({ name, ...(rule.managed !== undefined ? { managed: rule.managed } : {}), posture });
  }
  const seen = new Set<string>();
  const webhooks = config.webhooks.map((w): WebhookSettings => {
    if (seen.has(w.name)) throw settingsError(`two webhooks are named ${quote(w.name)}`);
    seen.add(w.name);
    if (w.name === AGENT_NAMESPACE)
      throw settingsError(
        `a webhook may not be named \`${AGENT_NAMESPACE}\`: that namespace is the agent’s`,
      );
    checkPointer(w.device.pointer, `devices.webhooks.${w.name}.device.pointer`);
    const map = Object.entries(w.map).map(([attribute, r]) => {
      const where = `\`devices.webhooks.${w.name}.map.${attribute}\``;
      checkPointer(r.pointer, where);
      const spec = attributeSpec(attribute);
      if (isPlainName(attribute)) {
        if (!spec || spec.source !== 'signal')
          throw settingsError(
            `${where}: ${quote(attribute)} is not a signal attribute`,
            `map to \`mdm_compliant\`, \`mdm_managed\`, \`edr_risk_score\` or to \`${w.name}.<name>\``,
          );
      } else if (namespaceOf(attribute) !== w.name) {
        throw settingsError(`${where}: a webhook may only write its own namespace \`${w.name}.\``);
      }
      const forms = [r.type !== undefined, r.equals !== undefined, r.in !== undefined].filter(
        Boolean,
      );
      if (forms.length !== 1)
        throw settingsError(`${where}: give exactly one of \`type\`, \`equals\` or \`in\``);
      const rule: MapRule =
        r.type !== undefined
          ? { pointer: r.pointer, kind: 'value', type: r.type }
          : {
              pointer: r.pointer,
              kind: 'equals',
              values: r.equals !== undefined ? [r.equals] : (r.in ?? []),
            };
      const produces = rule.kind === 'equals' ? 'boolean' : rule.type;
      if (spec && spec.type !== produces)
        throw settingsError(
          `${where}: ${quote(attribute)} is a ${spec.type}, the mapping gives a ${produces}`,
        );
      return { attribute, rule };
    });
    return {
      name: w.name,
      secretFile: w.secret_file,
      ttlMs: ms(w.ttl, `webhooks.${w.name}.ttl`, 1000),
      toleranceMs: ms(w.tolerance, `webhooks.${w.name}.tolerance`, 1000),
      device: { pointer: w.device.pointer, match: w.device.match },
      map,
    };
  });
  return {
    reportIntervalMs: ms(config.report_interval, 'report_interval', 5000),
    postureTtlMs: ms(config.posture_ttl, 'posture_ttl', 1000),
    reportWindowMs: ms(config.report_window, 'report_window', 1000),
    historySize: config.history,
    enrollCodeTtlMs: ms(config.enroll_code_ttl, 'enroll_code_ttl', 1000),
    edrProcesses: config.edr_processes,
    tiers,
    webhooks,
  };
}

function checkPointer(pointer: string, where: string): void {
  if (pointer !== '' && !pointer.startsWith('/'))
    throw settingsError(`\`${where}\`: a JSON pointer starts with \`/\``);
}

/** Validates raw (YAML-shaped) settings and resolves them; throws `ZT_DEVICE_SETTINGS_INVALID`. */
export function resolveDeviceSettings(input: unknown = {}): DeviceTrustSettings {
  const parsed = DevicesConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue ? issue.path.map(String).join('.') : '';
    throw settingsError(
      `\`devices${path ? `.${path}` : ''}\`: ${issue?.message ?? 'invalid'}`,
      'see docs/device.md ("Settings")',
    );
  }
  return deviceSettingsFrom(parsed.data);
}

export const DEFAULT_DEVICE_SETTINGS: DeviceTrustSettings = resolveDeviceSettings({});
