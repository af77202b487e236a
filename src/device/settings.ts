/**
 * Device trust settings: the `devices:` section of ztgate.yaml (its schema, `DevicesConfigSchema`,
 * lives in the zod-only leaf ./settings-schema.ts, which the config schema embeds) and its runtime
 * form, with durations in milliseconds and what the schema cannot check (posture attribute names,
 * what a webhook may write) checked against the posture schema.
 *
 * The server turns a loaded config's section into settings with `checkDeviceSettings`, which
 * reports every problem with its position in the file, as the policy compiler does for policies.
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
import type { ErrorCode, Problem } from '../shared/errors.js';
import { parseDuration } from '../shared/duration.js';
import { formatKeyPath, type KeyPath, type Locate, type SourceLocation } from '../shared/source.js';
import { DeviceError, quote } from './errors.js';
import {
  attributeSpec,
  isNamespacedName,
  isPlainName,
  namespaceOf,
  AGENT_NAMESPACE,
} from './posture/schema.js';
import {
  DevicesConfigSchema,
  type DevicesConfig,
  type PostureConditionInput,
} from './settings-schema.js';

// The schema moved to ./settings-schema.ts; importers of this module keep working.
export {
  DevicesConfigSchema,
  MapRuleSchema,
  PostureConditionSchema,
  TierRuleSchema,
  WebhookSchema,
  type DevicesConfig,
  type DevicesConfigInput,
  type MapRuleConfig,
  type TierRuleConfig,
  type WebhookConfig,
} from './settings-schema.js';

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

/** One thing wrong with a `devices:` section: where (below `devices`) and what. */
interface SettingsIssue {
  readonly path: KeyPath;
  readonly message: string;
  readonly help?: string;
}

/**
 * Converts a schema-validated section and checks what the schema cannot: posture attribute names,
 * and what each webhook may write. Collects every issue rather than stopping at the first.
 * (The schema checks ranges, pointers, mapping forms, duplicate names and duration bounds; the
 * conversion still refuses what would make a wrong runtime value, for sections built by hand.)
 */
function convert(config: DevicesConfig): {
  settings: DeviceTrustSettings | undefined;
  issues: SettingsIssue[];
} {
  const issues: SettingsIssue[] = [];
  const issue = (path: KeyPath, message: string, help?: string): void => {
    issues.push(help === undefined ? { path, message } : { path, message, help });
  };
  const ms = (text: string, path: KeyPath, min: number): number => {
    const value = parseDuration(text);
    if (value === undefined) issue(path, `${quote(text)} is not a duration`);
    else if (value < min) issue(path, `${quote(text)} is shorter than ${min / 1000}s`);
    return value ?? 0;
  };

  const tiers: TierRule[] = [];
  for (const [name, rule] of Object.entries(config.tiers)) {
    const posture: TierRule['posture'][number][] = [];
    for (const [attribute, c] of Object.entries(rule.posture)) {
      const path = ['tiers', name, 'posture', attribute];
      if (!isPlainName(attribute) && !isNamespacedName(attribute)) {
        issue(
          path,
          `${quote(attribute)} is not a posture attribute name`,
          'write a name such as `disk_encrypted`, or `<namespace>.<name>` for a custom or webhook attribute (docs/device.md)',
        );
        continue;
      }
      const cond = condition(c);
      if (typeof cond === 'string') issue(path, cond);
      else posture.push({ attribute, condition: cond });
    }
    tiers.push({ name, ...(rule.managed !== undefined ? { managed: rule.managed } : {}), posture });
  }

  const seen = new Set<string>();
  const webhooks: WebhookSettings[] = [];
  config.webhooks.forEach((w, i) => {
    const base = ['webhooks', i];
    if (seen.has(w.name)) issue([...base, 'name'], `two webhooks are named ${quote(w.name)}`);
    seen.add(w.name);
    if (w.name === AGENT_NAMESPACE)
      issue(
        [...base, 'name'],
        `a webhook may not be named \`${AGENT_NAMESPACE}\`: that namespace is the agent’s`,
        'give the webhook another name',
      );
    if (!isPointer(w.device.pointer))
      issue([...base, 'device', 'pointer'], 'a JSON pointer starts with `/`');
    const map: WebhookSettings['map'][number][] = [];
    for (const [attribute, r] of Object.entries(w.map)) {
      const path = [...base, 'map', attribute];
      if (!isPointer(r.pointer)) {
        issue([...path, 'pointer'], 'a JSON pointer starts with `/`');
        continue;
      }
      const spec = attributeSpec(attribute);
      if (isPlainName(attribute)) {
        if (!spec || spec.source !== 'signal') {
          issue(
            path,
            `${quote(attribute)} is not a signal attribute`,
            `map to \`mdm_compliant\`, \`mdm_managed\`, \`edr_risk_score\` or to \`${w.name}.<name>\``,
          );
          continue;
        }
      } else if (namespaceOf(attribute) !== w.name) {
        issue(
          path,
          `a webhook may only write its own namespace \`${w.name}.\``,
          `name the attribute \`${w.name}.<name>\`, or use one of the signal attributes`,
        );
        continue;
      }
      const forms = [r.type !== undefined, r.equals !== undefined, r.in !== undefined].filter(
        Boolean,
      );
      if (forms.length !== 1) {
        issue(path, 'give exactly one of `type`, `equals` or `in`');
        continue;
      }
      const rule: MapRule =
        r.type !== undefined
          ? { pointer: r.pointer, kind: 'value', type: r.type }
          : {
              pointer: r.pointer,
              kind: 'equals',
              values: r.equals !== undefined ? [r.equals] : (r.in ?? []),
            };
      const produces = rule.kind === 'equals' ? 'boolean' : rule.type;
      if (spec && spec.type !== produces) {
        issue(
          path,
          `${quote(attribute)} is a ${spec.type}, the mapping gives a ${produces}`,
          spec.type === 'boolean'
            ? 'use `equals` or `in` to turn the value into `true` or `false`'
            : `read it with \`type: ${spec.type}\``,
        );
        continue;
      }
      map.push({ attribute, rule });
    }
    webhooks.push({
      name: w.name,
      secretFile: w.secret_file,
      ttlMs: ms(w.ttl, [...base, 'ttl'], 1000),
      toleranceMs: ms(w.tolerance, [...base, 'tolerance'], 1000),
      device: { pointer: w.device.pointer, match: w.device.match },
      map,
    });
  });

  const settings: DeviceTrustSettings = {
    reportIntervalMs: ms(config.report_interval, ['report_interval'], 5000),
    postureTtlMs: ms(config.posture_ttl, ['posture_ttl'], 1000),
    reportWindowMs: ms(config.report_window, ['report_window'], 1000),
    historySize: config.history,
    enrollCodeTtlMs: ms(config.enroll_code_ttl, ['enroll_code_ttl'], 1000),
    edrProcesses: config.edr_processes,
    tiers,
    webhooks,
  };
  return { settings: issues.length === 0 ? settings : undefined, issues };
}

/** The runtime form of a condition, or why there is none. */
function condition(raw: PostureConditionInput): PostureCondition | string {
  if (typeof raw !== 'object') return { op: 'eq', value: raw };
  if ('in' in raw) return { op: 'in', values: raw.in };
  if (raw.min === undefined && raw.max === undefined) return 'a range needs `min`, `max` or both';
  const min = raw.min ?? -Infinity;
  const max = raw.max ?? Infinity;
  if (min > max) return `the range is empty (\`min\` ${min} > \`max\` ${max})`;
  return { op: 'range', min, max };
}

function isPointer(pointer: string): boolean {
  return pointer === '' || pointer.startsWith('/');
}

function settingsError(message: string, help?: string): DeviceError {
  return new DeviceError('ZT_DEVICE_SETTINGS_INVALID', message, help ? { help } : undefined);
}

/** `devices.tiers.high.posture.x`, for messages that carry their own location. */
function where(path: KeyPath): string {
  return `\`${formatKeyPath(['devices', ...path])}\``;
}

/**
 * Turns a (schema-validated) section into the runtime settings; throws `ZT_DEVICE_SETTINGS_INVALID`
 * naming the key of the first problem. For a loaded config, prefer `checkDeviceSettings`, which
 * reports every problem with its position.
 */
export function deviceSettingsFrom(config: DevicesConfig): DeviceTrustSettings {
  const { settings, issues } = convert(config);
  const first = issues[0];
  if (first || !settings) {
    throw settingsError(
      `${where(first?.path ?? [])}: ${first?.message ?? 'invalid'}`,
      first?.help ?? 'see docs/device.md ("Settings")',
    );
  }
  return settings;
}

export interface DeviceSettingsCheck {
  /** the runtime settings; undefined when a problem is an error */
  readonly settings: DeviceTrustSettings | undefined;
  /** every problem, `ZT_DEVICE_SETTINGS_INVALID`, located in the config file */
  readonly problems: readonly Problem[];
}

/**
 * The device settings of a loaded config (`config.devices`), with every problem the config schema
 * could not see located at its key (`locate` is the loaded config's, `LoadedConfig.locate`): what
 * `ztgate policy check` reports and what the server calls at start and on reload. Never throws.
 */
export function checkDeviceSettings(
  config: DevicesConfig,
  locate: Locate = () => undefined,
  base: KeyPath = ['devices'],
): DeviceSettingsCheck {
  const { settings, issues } = convert(config);
  const code: ErrorCode = 'ZT_DEVICE_SETTINGS_INVALID';
  const problems = issues.map((i): Problem => {
    const path = [...base, ...i.path];
    const at = nearest(locate, path);
    return {
      code,
      severity: 'error',
      message: i.message,
      ...(i.help !== undefined ? { help: i.help } : {}),
      path,
      ...(at ? { at } : {}),
    };
  });
  return { settings, problems };
}

/** The position of a path, or of its nearest ancestor that has one (a default has none). */
function nearest(locate: Locate, path: KeyPath): SourceLocation | undefined {
  for (let n = path.length; n > 0; n--) {
    const at = locate(path.slice(0, n));
    if (at) return at;
  }
  return undefined;
}

/** Validates raw (YAML-shaped) settings and resolves them; throws `ZT_DEVICE_SETTINGS_INVALID`. */
export function resolveDeviceSettings(input: unknown = {}): DeviceTrustSettings {
  const parsed = DevicesConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw settingsError(
      `${where(issue ? issue.path.map((p) => (typeof p === 'number' ? p : String(p))) : [])}: ${issue?.message ?? 'invalid'}`,
      'see docs/device.md ("Settings")',
    );
  }
  return deviceSettingsFrom(parsed.data);
}

export const DEFAULT_DEVICE_SETTINGS: DeviceTrustSettings = resolveDeviceSettings({});
