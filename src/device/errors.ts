/**
 * The errors the device module raises on purpose. Every lower-layer failure (store, TLS, the CA
 * port, a child process) is translated into one of these at the module boundary, so that the HTTP
 * handlers and the CLI map them to a status or an exit code in one place.
 */
import { ZtError, type ErrorCode } from '../shared/errors.js';

export type DeviceErrorCode = Extract<ErrorCode, `ZT_DEVICE_${string}`>;

export class DeviceError extends ZtError {
  declare readonly code: DeviceErrorCode;
  constructor(
    code: DeviceErrorCode,
    message: string,
    options?: { help?: string; cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'DeviceError';
  }
}

/** The HTTP status each code answers with on the device endpoints. */
export function httpStatusOf(code: DeviceErrorCode): number {
  switch (code) {
    case 'ZT_DEVICE_REQUEST_MALFORMED':
    case 'ZT_DEVICE_CSR_INVALID':
    case 'ZT_DEVICE_REPORT_INVALID':
    case 'ZT_DEVICE_WEBHOOK_UNMATCHED':
    case 'ZT_DEVICE_SETTINGS_INVALID':
      return 400;
    case 'ZT_DEVICE_CLIENT_CERT_REQUIRED':
    case 'ZT_DEVICE_CLIENT_CERT_UNKNOWN':
    case 'ZT_DEVICE_WEBHOOK_SIGNATURE':
    case 'ZT_DEVICE_WEBHOOK_STALE':
    case 'ZT_DEVICE_ENROLL_CODE_INVALID':
      return 401;
    case 'ZT_DEVICE_CSR_IDENTITY_MISMATCH':
    case 'ZT_DEVICE_REPORT_WRONG_DEVICE':
    case 'ZT_DEVICE_REVOKED':
      return 403;
    case 'ZT_DEVICE_NOT_FOUND':
    case 'ZT_DEVICE_WEBHOOK_UNKNOWN':
      return 404;
    case 'ZT_DEVICE_REPORT_REPLAYED':
    case 'ZT_DEVICE_WEBHOOK_REPLAYED':
      return 409;
    case 'ZT_DEVICE_REQUEST_TOO_LARGE':
      return 413;
    case 'ZT_DEVICE_ISSUANCE_FAILED':
    case 'ZT_DEVICE_STORE_FAILED':
    case 'ZT_DEVICE_WEBHOOK_SECRET':
      return 503;
    case 'ZT_DEVICE_COLLECTOR_FAILED':
    case 'ZT_DEVICE_AGENT_NOT_ENROLLED':
    case 'ZT_DEVICE_AGENT_FILES':
    case 'ZT_DEVICE_SERVER_UNREACHABLE':
    case 'ZT_DEVICE_SERVER_REFUSED':
      return 500;
  }
}

/** Wraps a store failure: the caller fails closed (503) and nothing is half-written by us. */
export function storeFailed(what: string, cause: unknown): DeviceError {
  if (cause instanceof DeviceError) return cause;
  return new DeviceError('ZT_DEVICE_STORE_FAILED', `the device inventory could not ${what}`, {
    help: 'check that the store is reachable; the request can be retried',
    cause,
  });
}

/** `value` in backticks, shortened, with control characters replaced: safe in a message. */
export function quote(value: unknown, max = 64): string {
  let text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  if (text.length > max) text = `${text.slice(0, max)}…`;
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f || ch === '`' ? '?' : ch;
  }
  return `\`${out}\``;
}
