/** Errors of the PKI component: every one carries a `ZT_PKI_*` code from the catalog. */
import { ZtError, type ErrorCode } from '../shared/errors.js';

export type PkiErrorCode = Extract<ErrorCode, `ZT_PKI_${string}`>;

export class PkiError extends ZtError {
  declare readonly code: PkiErrorCode;
  constructor(code: PkiErrorCode, message: string, options?: { help?: string; cause?: unknown }) {
    super(code, message, options);
    this.name = 'PkiError';
  }
}

/** `value` in backticks for a message, shortened and with control characters made visible. */
export function quote(value: string, max = 80): string {
  const cleaned = value.replace(
    /[\p{Cc}`]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `\`${cleaned.length > max ? `${cleaned.slice(0, max)}...` : cleaned}\``;
}
