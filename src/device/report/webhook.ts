/**
 * Third-party posture signals (MDM compliance, EDR risk) through an authenticated webhook:
 * `POST {public_url}/api/device/signals/<name>` with a JSON body and two headers:
 *
 *   X-Ztgate-Timestamp: 1763805600                      (Unix seconds)
 *   X-Ztgate-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * The signature covers the raw body bytes and the timestamp, so neither can be changed. The
 * server refuses (and audits) a missing or wrong signature (compared in constant time against every
 * secret of the file, to allow rotation), a timestamp outside `tolerance`, and a request it has
 * already seen within the window (replay). The payload is then mapped into posture attributes by
 * the webhook's `map` and recorded as that webhook's signal for the device it names.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PostureValue } from '../../pdp/input.js';
import type { DeviceRecord, DeviceStore } from '../../store/store.js';
import { DeviceError, quote, storeFailed } from '../errors.js';
import { parseJsonObject, readBody, sendError, sendJson, sourceIp } from '../http/json.js';
import type { Clock } from '../ports.js';
import { attributeSpec, checkValue } from '../posture/schema.js';
import type { MapRule, WebhookSettings } from '../settings.js';
import type { PostureService } from './posture-service.js';

export const MAX_WEBHOOK_BYTES = 64 * 1024;
export const TIMESTAMP_HEADER = 'x-ztgate-timestamp';
export const SIGNATURE_HEADER = 'x-ztgate-signature';
const MAX_SECRETS = 4;
const MIN_SECRET_BYTES = 16;

/** Reads a secret file: one secret per non-empty line, mode 0600 or stricter. */
export function loadWebhookSecrets(file: string): readonly Buffer[] {
  const fail = (why: string): DeviceError =>
    new DeviceError('ZT_DEVICE_WEBHOOK_SECRET', `the webhook secret file ${quote(file)} ${why}`, {
      help: 'write one secret of at least 16 characters per line and `chmod 600` the file',
    });
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw fail('is not a regular file');
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      throw fail('is readable or writable by group or others');
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof DeviceError) throw err;
    throw fail('cannot be read');
  }
  const secrets = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => Buffer.from(l, 'utf8'));
  if (secrets.length === 0) throw fail('is empty');
  if (secrets.length > MAX_SECRETS) throw fail(`holds more than ${MAX_SECRETS} secrets`);
  if (secrets.some((s) => s.length < MIN_SECRET_BYTES))
    throw fail(`holds a secret shorter than ${MIN_SECRET_BYTES} bytes`);
  return secrets;
}

/** `sha256=<hex>` for a body at a timestamp: what a sender computes (and tests use). */
export function signWebhook(
  secret: string | Buffer,
  timestamp: string,
  rawBody: string | Buffer,
): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`, 'utf8');
  mac.update(rawBody);
  return `sha256=${mac.digest('hex')}`;
}

/** Signatures seen within their window, to refuse replays. Bounded; fails closed when full. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max = 100_000) {}

  /** false when `key` was seen and has not expired; records it otherwise */
  admit(key: string, expiresAt: number, now: number): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    if (this.seen.size >= this.max) {
      for (const [k, t] of this.seen) if (t <= now) this.seen.delete(k);
      if (this.seen.size >= this.max) return false;
    }
    this.seen.set(key, expiresAt);
    return true;
  }
}

export interface WebhookRequest {
  readonly rawBody: Buffer;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/** Checks timestamp, signature and replay, in that order; throws the matching `ZT_DEVICE_WEBHOOK_*`. */
export function verifyWebhook(
  request: WebhookRequest,
  options: {
    readonly secrets: readonly Buffer[];
    readonly toleranceMs: number;
    readonly now: number;
    readonly replay: ReplayCache;
  },
): void {
  const ts = request.timestamp ?? '';
  if (!/^\d{1,12}$/.test(ts))
    throw new DeviceError(
      'ZT_DEVICE_WEBHOOK_STALE',
      `the \`${TIMESTAMP_HEADER}\` header is missing or not Unix seconds`,
    );
  const at = Number(ts) * 1000;
  if (Math.abs(options.now - at) > options.toleranceMs)
    throw new DeviceError(
      'ZT_DEVICE_WEBHOOK_STALE',
      'the webhook timestamp is outside the accepted window',
      {
        help: 'send the current time in `X-Ztgate-Timestamp` and keep the sender clock in sync',
      },
    );
  const sig = /^sha256=([0-9a-f]{64})$/i.exec((request.signature ?? '').trim());
  const given = Buffer.from(sig?.[1] ?? '0'.repeat(64), 'hex');
  let ok = false;
  for (const secret of options.secrets) {
    const expected = createHmac('sha256', secret)
      .update(`${ts}.`, 'utf8')
      .update(request.rawBody)
      .digest();
    // every secret is compared, in constant time, whatever the earlier results
    if (timingSafeEqual(expected, given)) ok = true;
  }
  if (!sig || !ok)
    throw new DeviceError(
      'ZT_DEVICE_WEBHOOK_SIGNATURE',
      'the webhook signature is missing or wrong',
      {
        help: 'sign `<timestamp>.<raw body>` with HMAC-SHA256 and send `X-Ztgate-Signature: sha256=<hex>`',
      },
    );
  if (!options.replay.admit(given.toString('hex'), at + options.toleranceMs, options.now))
    throw new DeviceError(
      'ZT_DEVICE_WEBHOOK_REPLAYED',
      'this webhook request was already received',
    );
}

/** RFC 6901 JSON pointer; undefined when the path does not exist. */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      cur = cur[Number(token)];
    } else if (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, token)) {
      cur = (cur as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return cur;
}

function unmatched(message: string): DeviceError {
  return new DeviceError('ZT_DEVICE_WEBHOOK_UNMATCHED', message, {
    help: 'check the webhook `device` and `map` settings against what the sender posts',
  });
}

/** Applies a webhook's map: the device reference and the attributes (absent values are left out). */
export function mapWebhookPayload(
  payload: unknown,
  hook: WebhookSettings,
): { deviceRef: string; attributes: Record<string, PostureValue> } {
  const ref = jsonPointer(payload, hook.device.pointer);
  if (typeof ref !== 'string' || ref === '' || ref.length > 253)
    throw unmatched('the payload does not name a device where `device.pointer` says');
  const attributes: Record<string, PostureValue> = {};
  for (const { attribute, rule } of hook.map) {
    const value = jsonPointer(payload, rule.pointer);
    if (value === undefined || value === null) continue;
    const mapped = mapValue(rule, value);
    if (mapped === undefined)
      throw unmatched(`the value for ${quote(attribute)} has the wrong type`);
    const why = checkValue(attributeSpec(attribute), mapped);
    if (why) throw unmatched(`the value for ${quote(attribute)} ${why}`);
    attributes[attribute] = mapped;
  }
  return { deviceRef: ref, attributes };
}

function mapValue(rule: MapRule, value: unknown): PostureValue | undefined {
  if (rule.kind === 'equals') return rule.values.includes(value as PostureValue);
  return typeof value === rule.type ? (value as PostureValue) : undefined;
}

export interface SignalWebhooksOptions {
  readonly devices: DeviceStore;
  readonly posture: PostureService;
  readonly webhooks: readonly WebhookSettings[];
  /** secrets per webhook name; default: read from each `secret_file` (and re-read on failure) */
  readonly secrets?: ReadonlyMap<string, readonly Buffer[]>;
  readonly now?: Clock;
}

/** The webhook endpoint: `handle(name, req, res)` for `POST /api/device/signals/<name>`. */
export class SignalWebhooks {
  private readonly replay = new ReplayCache();
  private readonly now: Clock;
  private readonly secrets = new Map<string, readonly Buffer[]>();

  constructor(private readonly options: SignalWebhooksOptions) {
    this.now = options.now ?? Date.now;
    for (const [k, v] of options.secrets ?? []) this.secrets.set(k, v);
  }

  async handle(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const meta = { sourceIp: sourceIp(req) };
    try {
      const outcome = await this.receive(name, req, meta);
      sendJson(res, 200, { accepted: true, device_id: outcome.deviceId, changes: outcome.changes });
    } catch (err) {
      this.options.posture.audit(
        {
          action: 'device.signal_refused',
          outcome: 'failure',
          actor: { service: `webhook:${name.slice(0, 32)}` },
          details: { code: err instanceof DeviceError ? err.code : 'internal' },
        },
        meta,
      );
      sendError(res, err);
    }
  }

  /** Verifies and records one request; returns the device and what changed. */
  async receive(
    name: string,
    req: IncomingMessage,
    meta: { sourceIp?: string | undefined } = {},
  ): Promise<{ deviceId: string; changes: readonly string[] }> {
    const hook = this.options.webhooks.find((w) => w.name === name);
    if (!hook)
      throw new DeviceError('ZT_DEVICE_WEBHOOK_UNKNOWN', `no webhook is named ${quote(name, 32)}`);
    if (req.method !== 'POST')
      throw new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', 'this endpoint takes POST only');
    const rawBody = await readBody(req, MAX_WEBHOOK_BYTES);
    const header = (h: string): string | undefined => {
      const v = req.headers[h];
      return Array.isArray(v) ? undefined : v;
    };
    verifyWebhook(
      { rawBody, timestamp: header(TIMESTAMP_HEADER), signature: header(SIGNATURE_HEADER) },
      {
        secrets: this.secretsOf(hook),
        toleranceMs: hook.toleranceMs,
        now: this.now(),
        replay: this.replay,
      },
    );
    const payload = parseJsonObject(rawBody, 32);
    const { deviceRef, attributes } = mapWebhookPayload(payload, hook);
    const device = await this.findDevice(hook, deviceRef);
    const result = await this.options.posture.ingestSignal(device.id, hook.name, attributes, meta);
    return { deviceId: device.id, changes: result.changes };
  }

  private secretsOf(hook: WebhookSettings): readonly Buffer[] {
    const cached = this.secrets.get(hook.name);
    if (cached) return cached;
    const loaded = loadWebhookSecrets(hook.secretFile);
    this.secrets.set(hook.name, loaded);
    return loaded;
  }

  private async findDevice(hook: WebhookSettings, ref: string): Promise<DeviceRecord> {
    const { devices } = this.options;
    try {
      if (hook.device.match === 'id') {
        const d = await devices.get(ref);
        if (d && d.state === 'active') return d;
        throw unmatched('the payload names no active enrolled device');
      }
      // two are enough to know that the name is ambiguous
      const found = await devices.listByHostname(ref, { state: 'active', limit: 2 });
      if (found.length !== 1 || !found[0])
        throw unmatched(
          found.length === 0
            ? 'no active device has that host name'
            : 'several active devices have that host name',
        );
      return found[0];
    } catch (err) {
      if (err instanceof DeviceError) throw err;
      throw storeFailed('find the device of the signal', err);
    }
  }
}
