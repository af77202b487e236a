/**
 * Streams audit records to a webhook: an HTTPS POST of `{"records":[...]}` (JSON, each record as
 * in the JSON Lines export). A 2xx answer is a delivery; anything else, or a network error, throws
 * and the stream retries with backoff. With a `secret`, the body is signed:
 * `X-Ztgate-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. Plain `http://` is accepted only
 * for loopback addresses (tests, a local relay).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { ZtError } from '../../shared/errors.js';
import type { AuditRecord } from '../record.js';
import type { AuditSink } from './sink.js';

export interface WebhookSinkOptions {
  readonly name?: string;
  readonly url: string;
  readonly secret?: string;
  /** extra trusted CA certificates (PEM) */
  readonly ca?: string | Buffer;
  /** extra headers, e.g. an Authorization token */
  readonly headers?: Readonly<Record<string, string>>;
  /** default 10000 ms */
  readonly timeoutMs?: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

export class WebhookSink implements AuditSink {
  readonly name: string;
  private readonly url: URL;

  constructor(private readonly options: WebhookSinkOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ZtError('ZT_AUDIT_SINK_FAILED', 'the webhook URL is malformed');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
      throw new ZtError(
        'ZT_AUDIT_SINK_FAILED',
        `the webhook URL must use https, not \`${url.protocol}\``,
      );
    }
    this.url = url;
    this.name = options.name ?? `webhook-${url.host}`;
  }

  async deliver(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const body = JSON.stringify({ records });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'ztgate-audit',
      ...this.options.headers,
    };
    if (this.options.secret !== undefined) {
      headers['x-ztgate-signature'] =
        `sha256=${createHmac('sha256', this.options.secret).update(body).digest('hex')}`;
    }
    const status = await new Promise<number>((resolve, reject) => {
      const lib = this.url.protocol === 'https:' ? https : http;
      const req = lib.request(
        this.url,
        {
          method: 'POST',
          headers,
          timeout: this.options.timeoutMs ?? 10_000,
          ...(this.options.ca ? { ca: this.options.ca } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(body);
    }).catch((err: unknown) => {
      throw new ZtError(
        'ZT_AUDIT_SINK_FAILED',
        `webhook ${this.url.origin}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
    if (status < 200 || status > 299) {
      throw new ZtError('ZT_AUDIT_SINK_FAILED', `webhook ${this.url.origin} answered ${status}`);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
