/**
 * What the device module keeps in `DeviceRecord.posture` (a JSON object the store holds for us):
 * the last accepted agent report and the last signal of each webhook, each with the server time it
 * was received. Staleness and tiers are computed from it when facts are read, never stored, so a
 * change of `posture_ttl` or of the tier rules applies at once.
 *
 * ```json
 * {"v": 1,
 *  "agent": {"seq": 1763805600000, "sent_at": 1763805600000, "received_at": 1763805600120,
 *            "attributes": {"firewall": true}, "unavailable": {"screen_lock": "no desktop"}},
 *  "signals": {"intune": {"received_at": 1763805000000, "attributes": {"mdm_compliant": true}}}}
 * ```
 *
 * The document is read defensively: anything malformed in it is ignored (unknown posture), never
 * trusted and never an exception.
 */
import type { JsonObject } from '../../store/store.js';
import { checkAgentAttribute } from './report.js';
import {
  attributeSpec,
  checkValue,
  isNamespacedName,
  isPlainName,
  type PostureAttributes,
} from './schema.js';

export interface AgentPosture {
  readonly seq: number;
  /** the report's `sent_at`, ms */
  readonly sentAt: number;
  /** server time the report was accepted, ms */
  readonly receivedAt: number;
  readonly attributes: PostureAttributes;
  readonly unavailable: Readonly<Record<string, string>>;
}

export interface SignalPosture {
  readonly receivedAt: number;
  readonly attributes: PostureAttributes;
}

export interface PostureDocument {
  readonly agent?: AgentPosture;
  readonly signals: Readonly<Record<string, SignalPosture>>;
}

const EMPTY: PostureDocument = { signals: {} };

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function readAttributes(
  raw: unknown,
  accept: (name: string, value: unknown) => boolean,
): Record<string, boolean | number | string> {
  const out: Record<string, boolean | number | string> = {};
  if (!isObj(raw)) return out;
  for (const [name, value] of Object.entries(raw)) {
    if (accept(name, value)) out[name] = value as boolean | number | string;
  }
  return out;
}

function signalAttributeOk(source: string, name: string, value: unknown): boolean {
  if (isPlainName(name)) {
    const spec = attributeSpec(name);
    return spec?.source === 'signal' && checkValue(spec, value) === undefined;
  }
  return (
    isNamespacedName(name) &&
    name.startsWith(`${source}.`) &&
    checkValue(undefined, value) === undefined
  );
}

export function readPostureDocument(posture: JsonObject | null | undefined): PostureDocument {
  if (!isObj(posture) || posture.v !== 1) return EMPTY;
  let agent: AgentPosture | undefined;
  const a = posture.agent;
  if (isObj(a) && isTime(a.seq) && isTime(a.sent_at) && isTime(a.received_at)) {
    const unavailable: Record<string, string> = {};
    if (isObj(a.unavailable)) {
      for (const [k, v] of Object.entries(a.unavailable))
        if (typeof v === 'string') unavailable[k] = v;
    }
    agent = {
      seq: a.seq,
      sentAt: a.sent_at,
      receivedAt: a.received_at,
      attributes: readAttributes(a.attributes, (n, v) => checkAgentAttribute(n, v) === undefined),
      unavailable,
    };
  }
  const signals: Record<string, SignalPosture> = {};
  if (isObj(posture.signals)) {
    for (const [source, s] of Object.entries(posture.signals)) {
      if (!isObj(s) || !isTime(s.received_at)) continue;
      signals[source] = {
        receivedAt: s.received_at,
        attributes: readAttributes(s.attributes, (n, v) => signalAttributeOk(source, n, v)),
      };
    }
  }
  return agent ? { agent, signals } : { signals };
}

export function writePostureDocument(doc: PostureDocument): JsonObject {
  const signals: Record<string, JsonObject> = {};
  for (const [source, s] of Object.entries(doc.signals)) {
    signals[source] = { received_at: s.receivedAt, attributes: { ...s.attributes } };
  }
  const out: Record<string, JsonObject | number> = { v: 1, signals };
  if (doc.agent) {
    out.agent = {
      seq: doc.agent.seq,
      sent_at: doc.agent.sentAt,
      received_at: doc.agent.receivedAt,
      attributes: { ...doc.agent.attributes },
      unavailable: { ...doc.agent.unavailable },
    };
  }
  return out;
}
