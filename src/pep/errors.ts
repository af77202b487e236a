/**
 * Errors the proxy raises on purpose. Each maps to one HTTP status; the response body carries the
 * request id (and for 4xx the reason code), never the message of a lower layer.
 */
import { ZtError, type ErrorCode } from '../shared/errors.js';

export type PepErrorCode = Extract<ErrorCode, `ZT_PEP_${string}`>;

export class PepError extends ZtError {
  constructor(
    code: PepErrorCode,
    message: string,
    readonly status: number,
    options?: { cause?: unknown; help?: string },
  ) {
    super(code, message, options);
    this.name = 'PepError';
  }
}

export function upstreamTimeout(): PepError {
  return new PepError('ZT_PEP_UPSTREAM_TIMEOUT', 'the upstream did not answer in time', 504);
}

export function upstreamUnreachable(cause: unknown): PepError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new PepError(
    'ZT_PEP_UPSTREAM_UNREACHABLE',
    `the upstream is unreachable${typeof code === 'string' ? ` (${code})` : ''}`,
    502,
    { cause },
  );
}

export function bodyTooLarge(limit: number): PepError {
  return new PepError(
    'ZT_PEP_BODY_TOO_LARGE',
    `the request body is larger than ${limit} bytes`,
    413,
  );
}

/** Error codes of a thrown value, for logs: a ZtError's code, else ZT_PEP_INTERNAL. */
export function codeOf(error: unknown): ErrorCode {
  if (error instanceof ZtError) return error.code;
  return 'ZT_PEP_INTERNAL';
}

/** Errors that mean "a dependency is down": 503 rather than 500. */
const UNAVAILABLE: ReadonlySet<string> = new Set([
  'ZT_PEP_DEPENDENCY_UNAVAILABLE',
  'ZT_STORE_UNAVAILABLE',
  'ZT_STORE_CLOSED',
  'ZT_AUDIT_BACKLOG_FULL',
  'ZT_AUDIT_WRITER_CLOSED',
  'ZT_IDENTITY_IDP_UNAVAILABLE',
]);

export function isUnavailable(error: unknown): boolean {
  return error instanceof ZtError && UNAVAILABLE.has(error.code);
}
