/**
 * The device HTTP endpoints, framework-free so that the proxy (or any `node:https` server) mounts
 * them as they are. JSON over HTTPS; every body bounded; errors as `{error: {code, message}}`.
 *
 * | path                              | auth                      | body                                  |
 * |-----------------------------------|---------------------------|---------------------------------------|
 * | POST /api/device/enroll/code      | the code                  | `{code}` -> `{user_id, expires_at}`    |
 * | POST /api/device/enroll           | the code                  | `{code, csr, device: {hostname, os}}`  |
 * | POST /api/device/renew            | device certificate (mTLS) | `{csr}`                               |
 * | POST /api/device/report           | device certificate (mTLS) | a posture report (docs/device.md)     |
 * | POST /api/device/signals/<name>   | HMAC signature            | the MDM/EDR payload                   |
 *
 * For the mTLS endpoints the caller passes the verified client certificate (`PresentedCertificate`:
 * what `tlsSocket.getPeerCertificate()` returns); without it, the socket's own certificate is used
 * when the TLS layer marked it authorized.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { presentedCertificate, type PresentedCertificate } from '../auth.js';
import { DeviceError } from '../errors.js';
import { parseDeviceInfo, type DeviceEnrollment, type EnrollmentResult } from '../enroll/enroll.js';
import { MAX_DEVICE_CSR_BYTES } from '../enroll/csr.js';
import { MAX_REPORT_BYTES } from '../posture/report.js';
import type { PostureService } from '../report/posture-service.js';
import type { SignalWebhooks } from '../report/webhook.js';
import {
  parseJsonObject,
  readBody,
  requireJsonPost,
  sendError,
  sendJson,
  sourceIp,
} from './json.js';

export const DEVICE_PATHS = {
  code: '/api/device/enroll/code',
  enroll: '/api/device/enroll',
  renew: '/api/device/renew',
  report: '/api/device/report',
  signals: '/api/device/signals/',
} as const;

const MAX_ENROLL_BYTES = MAX_DEVICE_CSR_BYTES + 4096;
const MAX_CODE_BYTES = 1024;

export interface DeviceEndpointsOptions {
  readonly enrollment: DeviceEnrollment;
  readonly posture: PostureService;
  readonly webhooks?: SignalWebhooks;
}

function enrollmentBody(r: EnrollmentResult, agent: unknown): Record<string, unknown> {
  return {
    device_id: r.deviceId,
    user_id: r.userId,
    certificate: r.certificatePem,
    chain: r.chainPem,
    serial: r.serial,
    not_after: new Date(r.notAfter).toISOString(),
    agent,
  };
}

function str(body: Record<string, unknown>, key: string, max: number): string {
  const v = body[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', `\`${key}\` is missing or malformed`);
  return v;
}

function only(body: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(body))
    if (!keys.includes(k))
      throw new DeviceError(
        'ZT_DEVICE_REQUEST_MALFORMED',
        `the request has an unknown key \`${k.slice(0, 32)}\``,
      );
}

export class DeviceEndpoints {
  constructor(private readonly options: DeviceEndpointsOptions) {}

  /**
   * Serves the request when its path is a device endpoint; returns false (and sends nothing)
   * otherwise. `cert` is the verified client certificate, when the TLS layer has one.
   */
  async route(
    req: IncomingMessage,
    res: ServerResponse,
    cert?: PresentedCertificate,
  ): Promise<boolean> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    switch (path) {
      case DEVICE_PATHS.code:
        await this.handleCodeLookup(req, res);
        return true;
      case DEVICE_PATHS.enroll:
        await this.handleEnroll(req, res);
        return true;
      case DEVICE_PATHS.renew:
        await this.handleRenew(req, res, cert);
        return true;
      case DEVICE_PATHS.report:
        await this.handleReport(req, res, cert);
        return true;
    }
    if (path.startsWith(DEVICE_PATHS.signals) && this.options.webhooks) {
      await this.options.webhooks.handle(path.slice(DEVICE_PATHS.signals.length), req, res);
      return true;
    }
    return false;
  }

  async handleCodeLookup(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      requireJsonPost(req);
      const body = parseJsonObject(await readBody(req, MAX_CODE_BYTES), 2);
      only(body, ['code']);
      const found = await this.options.enrollment.lookupCode(str(body, 'code', 64), {
        sourceIp: sourceIp(req),
        requestId,
      });
      sendJson(res, 200, {
        user_id: found.userId,
        expires_at: new Date(found.expiresAt).toISOString(),
      });
    } catch (err) {
      sendError(res, err, requestId);
    }
  }

  async handleEnroll(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      requireJsonPost(req);
      const body = parseJsonObject(await readBody(req, MAX_ENROLL_BYTES), 3);
      only(body, ['code', 'csr', 'device']);
      const result = await this.options.enrollment.enroll(
        str(body, 'code', 64),
        str(body, 'csr', MAX_DEVICE_CSR_BYTES),
        parseDeviceInfo(body.device),
        { sourceIp: sourceIp(req), requestId },
      );
      sendJson(res, 201, enrollmentBody(result, this.options.posture.agentSettings()));
    } catch (err) {
      sendError(res, err, requestId);
    }
  }

  async handleRenew(
    req: IncomingMessage,
    res: ServerResponse,
    cert?: PresentedCertificate,
  ): Promise<void> {
    const requestId = randomUUID();
    try {
      requireJsonPost(req);
      const body = parseJsonObject(await readBody(req, MAX_ENROLL_BYTES), 2);
      only(body, ['csr']);
      const result = await this.options.enrollment.renew(
        cert ?? presentedCertificate(req.socket),
        str(body, 'csr', MAX_DEVICE_CSR_BYTES),
        { sourceIp: sourceIp(req), requestId },
      );
      sendJson(res, 200, enrollmentBody(result, this.options.posture.agentSettings()));
    } catch (err) {
      sendError(res, err, requestId);
    }
  }

  async handleReport(
    req: IncomingMessage,
    res: ServerResponse,
    cert?: PresentedCertificate,
  ): Promise<void> {
    const requestId = randomUUID();
    try {
      requireJsonPost(req);
      const outcome = await this.options.posture.ingestReport(
        cert ?? presentedCertificate(req.socket),
        () => readBody(req, MAX_REPORT_BYTES),
        {
          sourceIp: sourceIp(req),
          requestId,
        },
      );
      sendJson(res, 200, {
        accepted: true,
        device_id: outcome.deviceId,
        seq: outcome.seq,
        tier: outcome.tier,
        changes: outcome.changes,
        agent: this.options.posture.agentSettings(),
      });
    } catch (err) {
      sendError(res, err, requestId);
    }
  }
}
