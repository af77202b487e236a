/**
 * The posture schema: every attribute a device's posture may hold, its type, and who may set it.
 *
 * - `agent` attributes come from the ztgate agent's collectors (src/device/agent/collectors).
 * - `signal` attributes come only from an authenticated third-party webhook (MDM, EDR): an agent
 *   that claims `mdm_compliant: true` is refused, since a compromised device would claim exactly that.
 * - Namespaced attributes `<namespace>.<name>` hold anything else: `custom.<name>` from the agent
 *   (site-specific collectors), `<webhook name>.<name>` from that webhook only.
 *
 * Attribute names are what policies test (`device: {posture: {disk_encrypted: true}}`).
 */
import type { PostureValue } from '../../pdp/input.js';

export type AttributeType = 'boolean' | 'number' | 'string';
export type AttributeSource = 'agent' | 'signal';

export interface AttributeSpec {
  readonly type: AttributeType;
  readonly source: AttributeSource;
  readonly description: string;
  /** numbers: inclusive bounds; integers only when `integer` */
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** strings: the accepted values, when closed */
  readonly values?: readonly string[];
  /** changes to it do not count as a posture change (no event): informational only */
  readonly informational?: boolean;
}

export const POSTURE_ATTRIBUTES = {
  os: {
    type: 'string',
    source: 'agent',
    values: ['linux', 'macos', 'windows'],
    description: 'the operating system family',
  },
  os_name: {
    type: 'string',
    source: 'agent',
    description:
      'the operating system name (`Debian GNU/Linux`, `macOS`, `Microsoft Windows 11 Pro`)',
  },
  os_version: {
    type: 'string',
    source: 'agent',
    description: 'the operating system version (`12`, `14.4.1`, `10.0.22631`)',
  },
  kernel: {
    type: 'string',
    source: 'agent',
    description: 'the kernel release (`6.1.0-18-amd64`, Darwin `23.4.0`)',
  },
  os_patch_age_days: {
    type: 'number',
    source: 'agent',
    min: 0,
    max: 36_500,
    integer: true,
    description: 'whole days since the last operating system update was installed',
  },
  disk_encrypted: {
    type: 'boolean',
    source: 'agent',
    description:
      'the system volume is fully encrypted with its protection on (LUKS, FileVault, BitLocker); partly encrypted is false',
  },
  firewall: {
    type: 'boolean',
    source: 'agent',
    description: 'the host firewall filters incoming traffic (rules present, not just installed)',
  },
  screen_lock: {
    type: 'boolean',
    source: 'agent',
    description: 'the desktop locks the screen when idle (absent when there is no desktop)',
  },
  edr_running: {
    type: 'boolean',
    source: 'agent',
    description:
      'one of the configured EDR processes is running (on Windows also: Microsoft Defender real-time protection is on)',
  },
  agent_version: {
    type: 'string',
    source: 'agent',
    informational: true,
    description: 'the version of the ztgate agent that sent the report',
  },
  mdm_compliant: {
    type: 'boolean',
    source: 'signal',
    description: 'the MDM says the device complies with its policies (from a webhook)',
  },
  mdm_managed: {
    type: 'boolean',
    source: 'signal',
    description: 'the MDM manages the device (from a webhook)',
  },
  edr_risk_score: {
    type: 'number',
    source: 'signal',
    min: 0,
    max: 100,
    description: 'the EDR risk score of the device, 0 (none) to 100 (compromised) (from a webhook)',
  },
} as const satisfies Record<string, AttributeSpec>;

export type AttributeName = keyof typeof POSTURE_ATTRIBUTES;
export type AgentAttributeName = {
  [K in AttributeName]: (typeof POSTURE_ATTRIBUTES)[K]['source'] extends 'agent' ? K : never;
}[AttributeName];

/** Posture attributes as collected or stored: a name and a scalar. */
export type PostureAttributes = Readonly<Record<string, PostureValue>>;

/** The namespace the agent may use for site-specific attributes. */
export const AGENT_NAMESPACE = 'custom';

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const NAMESPACED = /^([a-z][a-z0-9_-]{0,30})\.([a-z][a-z0-9_]{0,62})$/;

export const MAX_STRING_VALUE = 256;

export function attributeSpec(name: string): AttributeSpec | undefined {
  return Object.hasOwn(POSTURE_ATTRIBUTES, name)
    ? (POSTURE_ATTRIBUTES as Record<string, AttributeSpec>)[name]
    : undefined;
}

/** The namespace of `ns.name`, or undefined for a plain name (or a malformed one). */
export function namespaceOf(name: string): string | undefined {
  return NAMESPACED.exec(name)?.[1];
}

export function isPlainName(name: string): boolean {
  return NAME.test(name);
}

export function isNamespacedName(name: string): boolean {
  return NAMESPACED.test(name);
}

/** Why `value` does not fit `spec`, or undefined when it does. */
export function checkValue(spec: AttributeSpec | undefined, value: unknown): string | undefined {
  if (spec === undefined) {
    // a namespaced attribute: any scalar, bounded
    if (typeof value === 'boolean') return undefined;
    if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'is not finite';
    if (typeof value === 'string')
      return value.length <= MAX_STRING_VALUE
        ? undefined
        : `is longer than ${MAX_STRING_VALUE} characters`;
    return 'is not a boolean, number or string';
  }
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
      if (spec.integer && !Number.isInteger(value)) return 'must be a whole number';
      if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}`;
      if (spec.max !== undefined && value > spec.max) return `must be at most ${spec.max}`;
      return undefined;
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      if (value.length === 0) return 'must not be empty';
      if (value.length > MAX_STRING_VALUE) return `is longer than ${MAX_STRING_VALUE} characters`;
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(value)) return 'holds control characters';
      if (spec.values && !spec.values.includes(value))
        return `must be one of ${spec.values.join(', ')}`;
      return undefined;
  }
}
