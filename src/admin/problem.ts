/**
 * Errors of the admin API and their one translation into RFC 9457 problem details. Every refusal
 * the API gives goes through `toProblem`: one place decides the status, the stable code and what a
 * client may read (5xx bodies carry the request id only).
 */
import type { StepUpRequirement } from '../pdp/decision.js';
import { ZtError, type ErrorCode, type Problem } from '../shared/errors.js';
import { formatKeyPath, type KeyPath } from '../shared/source.js';

export type AdminErrorCode = Extract<ErrorCode, `ZT_ADMIN_${string}`>;

/** Status of each admin code: fixed, so clients can rely on it. */
const ADMIN_STATUS: Record<AdminErrorCode, number> = {
  ZT_ADMIN_UNAUTHENTICATED: 401,
  ZT_ADMIN_TOKEN_INVALID: 401,
  ZT_ADMIN_FORBIDDEN: 403,
  ZT_ADMIN_STEP_UP_REQUIRED: 403,
  ZT_ADMIN_SCOPE_MISSING: 403,
  ZT_ADMIN_SESSION_REQUIRED: 403,
  ZT_ADMIN_CSRF_REFUSED: 403,
  ZT_ADMIN_REQUEST_INVALID: 400,
  ZT_ADMIN_CONFIG_INVALID: 400,
  ZT_ADMIN_NOT_FOUND: 404,
  ZT_ADMIN_METHOD_NOT_ALLOWED: 405,
  ZT_ADMIN_CONFLICT: 409,
  ZT_ADMIN_LOCKOUT: 409,
  ZT_ADMIN_PRECONDITION_FAILED: 412,
  ZT_ADMIN_BODY_TOO_LARGE: 413,
  ZT_ADMIN_UNSUPPORTED_MEDIA_TYPE: 415,
  ZT_ADMIN_UNAVAILABLE: 503,
  ZT_ADMIN_INTERNAL: 500,
};

/**
 * Codes of lower layers that mean a client mistake or a known state, with their status. Anything
 * else is a 500 whose message stays in the log.
 */
const OTHER_STATUS: Partial<Record<ErrorCode, number>> = {
  ZT_STORE_UNAVAILABLE: 503,
  ZT_STORE_CONFLICT: 409,
  ZT_STORE_NOT_FOUND: 404,
  ZT_STORE_INVALID_RECORD: 400,
  ZT_STORE_CLOSED: 503,
  ZT_AUDIT_BACKLOG_FULL: 503,
  ZT_AUDIT_WRITER_CLOSED: 503,
  ZT_AUDIT_QUERY_INVALID: 400,
  ZT_IDENTITY_USER_EXISTS: 409,
  ZT_IDENTITY_USER_UNKNOWN: 404,
  ZT_IDENTITY_PASSWORD_POLICY: 400,
  ZT_CLI_INPUT_INVALID: 400,
  ZT_DEVICE_NOT_FOUND: 404,
  ZT_DEVICE_STORE_FAILED: 503,
  ZT_PKI_CERT_NOT_FOUND: 404,
  ZT_PKI_REVOKE_CA: 409,
  ZT_PEP_DEPENDENCY_UNAVAILABLE: 503,
};

/** A problem of a checked document, as the API shows it. */
export interface DocumentProblem {
  readonly code: ErrorCode;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly help?: string;
  /** `policies.eng.allow[0].groups` */
  readonly path?: string;
  /** the same as an RFC 6901 JSON pointer into the request body: `/policies/eng/allow/0/groups` */
  readonly pointer?: string;
  /** line and column in the version's YAML text (`GET /config/versions/{version}`), when known */
  readonly line?: number;
  readonly col?: number;
}

export interface AdminErrorOptions {
  readonly help?: string;
  readonly cause?: unknown;
  readonly problems?: readonly DocumentProblem[];
  readonly stepUp?: StepUpRequirement;
  /** headers to add to the problem response (`Allow` for 405) */
  readonly headers?: Readonly<Record<string, string>>;
}

export class AdminError extends ZtError {
  declare readonly code: AdminErrorCode;
  readonly status: number;
  readonly problems: readonly DocumentProblem[] | undefined;
  readonly stepUp: StepUpRequirement | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: AdminErrorCode, message: string, options: AdminErrorOptions = {}) {
    super(code, message, {
      ...(options.help !== undefined ? { help: options.help } : {}),
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
    });
    this.name = 'AdminError';
    this.status = ADMIN_STATUS[code];
    this.problems = options.problems;
    this.stepUp = options.stepUp;
    this.headers = options.headers;
  }
}

export function notFound(what: string): AdminError {
  return new AdminError('ZT_ADMIN_NOT_FOUND', what);
}

export function badRequest(message: string, help?: string): AdminError {
  return new AdminError('ZT_ADMIN_REQUEST_INVALID', message, help === undefined ? {} : { help });
}

/** RFC 9457 problem details with ztgate's stable `code`. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail?: string;
  readonly help?: string;
  readonly request_id: string;
  readonly problems?: readonly DocumentProblem[];
  readonly step_up?: StepUpRequirement;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface ProblemReply {
  readonly status: number;
  readonly body: ProblemBody;
  readonly headers: Readonly<Record<string, string>>;
  /** set for 500s: the error to log with the request id (never sent) */
  readonly internal?: unknown;
}

/** The one translation of anything thrown into what the client sees. */
export function toProblem(err: unknown, requestId: string): ProblemReply {
  let status = 500;
  let code: ErrorCode = 'ZT_ADMIN_INTERNAL';
  let detail: string | undefined;
  let help: string | undefined;
  let extra: Pick<ProblemBody, 'problems' | 'step_up'> = {};
  let headers: Readonly<Record<string, string>> = {};
  if (err instanceof AdminError) {
    status = err.status;
    code = err.code;
    detail = err.message;
    help = err.help;
    extra = {
      ...(err.problems ? { problems: err.problems } : {}),
      ...(err.stepUp ? { step_up: err.stepUp } : {}),
    };
    headers = err.headers ?? {};
  } else if (err instanceof ZtError && OTHER_STATUS[err.code] !== undefined) {
    status = OTHER_STATUS[err.code] ?? 500;
    code = err.code;
    detail = err.message;
    help = err.help;
  }
  if (status >= 500) {
    // 5xx bodies carry the code and request id only: a lower layer's message may name internals.
    return {
      status,
      headers,
      body: {
        type: typeUri(code),
        title: TITLES[status] ?? 'Error',
        status,
        code,
        request_id: requestId,
      },
      ...(status === 500 ? { internal: err } : {}),
    };
  }
  return {
    status,
    headers,
    body: {
      type: typeUri(code),
      title: TITLES[status] ?? 'Error',
      status,
      code,
      ...(detail !== undefined ? { detail } : {}),
      ...(help !== undefined ? { help } : {}),
      request_id: requestId,
      ...extra,
    },
  };
}

/** A URN rather than a URL: the type names the code and never points at a host. */
function typeUri(code: ErrorCode): string {
  return `urn:ztgate:error:${code}`;
}

/** A config or policy problem as the API shows it. */
export function documentProblem(p: Problem): DocumentProblem {
  return {
    code: p.code,
    severity: p.severity,
    message: p.message,
    ...(p.help !== undefined ? { help: p.help } : {}),
    ...(p.path !== undefined && p.path.length > 0
      ? { path: formatKeyPath(p.path), pointer: jsonPointer(p.path) }
      : {}),
    ...(p.at && p.at.env === undefined ? { line: p.at.line, col: p.at.col } : {}),
  };
}

export function jsonPointer(path: KeyPath): string {
  return path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
