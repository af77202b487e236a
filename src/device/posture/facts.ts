/**
 * From a device record to the facts a policy decision sees (`DecisionInput.device`). This is what
 * the proxy calls per request; it is pure and cheap (no I/O, the clock is a parameter).
 *
 * - A revoked device gives `{}`: no id, so every `device` requirement fails (`device-missing`).
 * - A pending device (enrollment not finished) is known but unmanaged, without posture or tier.
 * - An active device is managed when it holds a certificate. Its posture is the agent's last report
 *   while it is younger than `posture_ttl`, plus each webhook's last signal while younger than that
 *   webhook's `ttl` (newer sources win on a shared attribute). Stale sources contribute nothing: the
 *   attributes are absent, so a policy that asks for them gets `device-posture-unknown` and denies.
 * - The tier is computed from those fresh facts, so a stale device loses any tier that needs posture.
 */
import type { DeviceFacts, PostureValue } from '../../pdp/input.js';
import type { DeviceRecord } from '../../store/store.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceTrustSettings } from '../settings.js';
import { readPostureDocument, type PostureDocument } from './document.js';
import { attributeSpec } from './schema.js';
import { computeTier } from './tiers.js';

/** A report received in the future by more than this is treated as stale (clock moved back). */
const FUTURE_SKEW_MS = 60_000;

export interface SourceState {
  readonly source: string;
  readonly receivedAt: number;
  readonly ageMs: number;
  readonly stale: boolean;
}

export interface PostureEvaluation {
  readonly facts: DeviceFacts;
  /** the fresh attributes (what `facts.posture` holds) */
  readonly attributes: Readonly<Record<string, PostureValue>>;
  readonly managed: boolean;
  readonly tier: string | undefined;
  /** true when the agent posture is absent or older than its TTL */
  readonly agentStale: boolean;
  readonly sources: readonly SourceState[];
  readonly document: PostureDocument;
}

function fresh(receivedAt: number, ttlMs: number, now: number): boolean {
  return receivedAt <= now + FUTURE_SKEW_MS && now - receivedAt <= ttlMs;
}

export function evaluatePosture(
  record: DeviceRecord,
  now: number,
  settings: DeviceTrustSettings = DEFAULT_DEVICE_SETTINGS,
): PostureEvaluation {
  const document = readPostureDocument(record.posture);
  const sources: SourceState[] = [];
  const attributes: Record<string, PostureValue> = {};
  const active = record.state === 'active';
  const managed = active && record.certificateSerial !== null;

  let agentStale = true;
  if (document.agent) {
    const ok = fresh(document.agent.receivedAt, settings.postureTtlMs, now);
    agentStale = !ok;
    sources.push({
      source: 'agent',
      receivedAt: document.agent.receivedAt,
      ageMs: now - document.agent.receivedAt,
      stale: !ok,
    });
    if (ok && active) Object.assign(attributes, document.agent.attributes);
  }
  const signals = Object.entries(document.signals).sort(
    (a, b) => a[1].receivedAt - b[1].receivedAt,
  );
  for (const [source, signal] of signals) {
    const hook = settings.webhooks.find((w) => w.name === source);
    const ok = hook !== undefined && fresh(signal.receivedAt, hook.ttlMs, now);
    sources.push({
      source,
      receivedAt: signal.receivedAt,
      ageMs: now - signal.receivedAt,
      stale: !ok,
    });
    if (ok && active) Object.assign(attributes, signal.attributes);
  }

  if (record.state === 'revoked') {
    return {
      facts: {},
      attributes: {},
      managed: false,
      tier: undefined,
      agentStale,
      sources,
      document,
    };
  }
  if (!active) {
    return {
      facts: { id: record.id, managed: false },
      attributes: {},
      managed: false,
      tier: undefined,
      agentStale,
      sources,
      document,
    };
  }
  const tier = computeTier(settings.tiers, { managed, posture: attributes });
  const facts: DeviceFacts = {
    id: record.id,
    managed,
    posture: attributes,
    ...(tier !== undefined ? { tier } : {}),
  };
  return { facts, attributes, managed, tier, agentStale, sources, document };
}

/** The facts for one device at `now`: what the proxy puts in `DecisionInput.device`. */
export function deviceFacts(
  record: DeviceRecord,
  now: number,
  settings: DeviceTrustSettings = DEFAULT_DEVICE_SETTINGS,
): DeviceFacts {
  return evaluatePosture(record, now, settings).facts;
}

/** `deviceFacts` bound to settings, for the proxy's per-config state. */
export function makeDeviceFacts(
  settings: DeviceTrustSettings,
): (record: DeviceRecord, now: number) => DeviceFacts {
  return (record, now) => deviceFacts(record, now, settings);
}

/**
 * The policy-relevant differences between two sets of facts: changed, appeared or disappeared
 * attributes (informational ones such as `agent_version` excluded), managed and tier. Empty when
 * nothing a policy could test changed.
 */
export function factsChanges(
  before: DeviceFacts,
  after: DeviceFacts,
  isRelevant: (attribute: string) => boolean = defaultRelevant,
): string[] {
  const out: string[] = [];
  if ((before.id ?? null) !== (after.id ?? null)) out.push('id');
  if ((before.managed ?? null) !== (after.managed ?? null)) out.push('managed');
  if ((before.tier ?? null) !== (after.tier ?? null)) out.push('tier');
  const b = before.posture ?? {};
  const a = after.posture ?? {};
  const names = new Set([...Object.keys(b), ...Object.keys(a)]);
  for (const name of [...names].sort()) {
    if (!isRelevant(name)) continue;
    if ((b[name] ?? null) !== (a[name] ?? null)) out.push(`posture.${name}`);
  }
  return out;
}

function defaultRelevant(attribute: string): boolean {
  return attributeSpec(attribute)?.informational !== true;
}
