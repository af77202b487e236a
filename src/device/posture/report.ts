/**
 * The posture report: what the agent sends, and its validation. A report is refused as a whole
 * when anything in it is wrong: a server never stores half of a report it could not read.
 *
 * ```json
 * {"v": 1, "device_id": "dev-5k2m...", "seq": 1763805600000, "sent_at": "2026-11-22T10:00:00.000Z",
 *  "attributes": {"os": "linux", "disk_encrypted": true, "firewall": false, "os_patch_age_days": 3},
 *  "unavailable": {"screen_lock": "no graphical session"}}
 * ```
 *
 * Limits: 16 KiB of JSON, 64 attributes, 64 `unavailable` reasons of at most 200 characters.
 * Attributes: the agent attributes of the schema with their types, or `custom.<name>` scalars.
 * Signal attributes (`mdm_compliant`, ...) and other namespaces are refused: only their webhook
 * sets them. `seq` is a positive integer that grows with every report of a device (the agent uses
 * `max(last + 1, now in ms)`), `sent_at` an RFC 3339 time; the server checks both against replay.
 */
import { depthExceeds } from '../../shared/depth.js';
import { DeviceError, quote } from '../errors.js';
import {
  AGENT_NAMESPACE,
  attributeSpec,
  checkValue,
  isNamespacedName,
  isPlainName,
  namespaceOf,
  type PostureAttributes,
} from './schema.js';

export const REPORT_VERSION = 1;
export const MAX_REPORT_BYTES = 16 * 1024;
export const MAX_REPORT_ATTRIBUTES = 64;
export const MAX_REASON_LENGTH = 200;

export interface PostureReport {
  readonly v: 1;
  readonly device_id: string;
  readonly seq: number;
  /** as sent */
  readonly sent_at: string;
  readonly attributes: PostureAttributes;
  /** why an attribute the agent tried to collect is absent */
  readonly unavailable: Readonly<Record<string, string>>;
}

const REPORT_KEYS = new Set(['v', 'device_id', 'seq', 'sent_at', 'attributes', 'unavailable']);
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function invalid(message: string, help?: string): DeviceError {
  return new DeviceError('ZT_DEVICE_REPORT_INVALID', message, {
    help:
      help ??
      'the report format is in docs/device.md ("Report format"); upgrade the agent if it is older than the server',
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses an RFC 3339 time strictly; NaN when malformed. */
export function parseRfc3339(text: string): number {
  if (!RFC3339.test(text)) return NaN;
  return Date.parse(text);
}

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID.test(value);
}

/**
 * Checks one agent attribute name and value; returns why it is refused, or undefined. Exported for
 * the agent, which drops (and records) what it would be refused for before sending.
 */
export function checkAgentAttribute(name: string, value: unknown): string | undefined {
  if (isPlainName(name)) {
    const spec = attributeSpec(name);
    if (!spec) return `${quote(name)} is not a posture attribute`;
    if (spec.source !== 'agent') return `${quote(name)} can only be set by its signal webhook`;
    const why = checkValue(spec, value);
    return why ? `${quote(name)} ${why}` : undefined;
  }
  if (isNamespacedName(name)) {
    if (namespaceOf(name) !== AGENT_NAMESPACE)
      return `${quote(name)} is in a namespace the agent may not write (only \`${AGENT_NAMESPACE}.\`)`;
    const why = checkValue(undefined, value);
    return why ? `${quote(name)} ${why}` : undefined;
  }
  return `${quote(name)} is not a valid attribute name`;
}

/** Validates a parsed report; throws `ZT_DEVICE_REPORT_INVALID` naming the first problem. */
export function validateReport(value: unknown): PostureReport {
  if (!isRecord(value)) throw invalid('the report is not a JSON object');
  if (depthExceeds(value, 4)) throw invalid('the report nests deeper than its format allows');
  for (const key of Object.keys(value)) {
    if (!REPORT_KEYS.has(key)) throw invalid(`the report has an unknown key ${quote(key)}`);
  }
  if (value.v !== REPORT_VERSION)
    throw invalid(`the report version ${quote(value.v)} is not supported (expected 1)`);
  if (!isDeviceId(value.device_id)) throw invalid('`device_id` is missing or malformed');
  const seq = value.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    throw invalid('`seq` must be a positive whole number');
  if (typeof value.sent_at !== 'string' || !Number.isFinite(parseRfc3339(value.sent_at)))
    throw invalid('`sent_at` must be an RFC 3339 time such as `2026-11-22T10:00:00Z`');
  const attrs = value.attributes;
  if (!isRecord(attrs)) throw invalid('`attributes` must be an object');
  const names = Object.keys(attrs);
  if (names.length > MAX_REPORT_ATTRIBUTES)
    throw invalid(`the report has ${names.length} attributes, more than ${MAX_REPORT_ATTRIBUTES}`);
  const attributes: Record<string, boolean | number | string> = {};
  for (const name of names) {
    const v = attrs[name];
    const why = checkAgentAttribute(name, v);
    if (why) throw invalid(`attribute ${why}`);
    attributes[name] = v as boolean | number | string;
  }
  const unavailable: Record<string, string> = {};
  if (value.unavailable !== undefined) {
    const u = value.unavailable;
    if (!isRecord(u)) throw invalid('`unavailable` must be an object of reasons');
    const keys = Object.keys(u);
    if (keys.length > MAX_REPORT_ATTRIBUTES)
      throw invalid(`\`unavailable\` lists more than ${MAX_REPORT_ATTRIBUTES} attributes`);
    for (const name of keys) {
      const reason = u[name];
      if (!isPlainName(name) && !isNamespacedName(name))
        throw invalid(`\`unavailable\` names an invalid attribute ${quote(name)}`);
      if (Object.hasOwn(attributes, name))
        throw invalid(`${quote(name)} is both reported and listed as unavailable`);
      if (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH)
        throw invalid(
          `the reason for ${quote(name)} must be a string of at most ${MAX_REASON_LENGTH} characters`,
        );
      unavailable[name] = printable(reason);
    }
  }
  return {
    v: REPORT_VERSION,
    device_id: value.device_id,
    seq,
    sent_at: value.sent_at,
    attributes,
    unavailable,
  };
}

/** Parses report bytes: size first, then JSON, then the schema. */
export function parseReport(body: string | Uint8Array): PostureReport {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > MAX_REPORT_BYTES) {
    throw new DeviceError(
      'ZT_DEVICE_REQUEST_TOO_LARGE',
      `the report is ${size} bytes, more than the ${MAX_REPORT_BYTES} accepted`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch {
    throw invalid('the report is not valid JSON');
  }
  return validateReport(value);
}

function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f ? ' ' : ch;
  }
  return out;
}
