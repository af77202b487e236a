/**
 * The answers the proxy writes itself, for browsers (HTML pages, redirects) and API clients
 * (JSON). A step that stops the pipeline returns one of these; ./send.ts writes it to a response or
 * a raw socket. 5xx bodies carry the request id and a generic error only.
 */
import { STATUS_CODES } from 'node:http';
import type { Decision, Reason } from '../../pdp/index.js';
import type { StepUpRequirement } from '../../pdp/decision.js';
import type { ErrorCode } from '../../shared/errors.js';
import type { RequestContext } from '../context.js';
import { PAGE_CSP, renderPage, SECURITY_HEADERS } from './error-page.js';

export interface Reply {
  readonly status: number;
  /** a list only for `set-cookie` */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: string;
  /** for the access log: the error code, if any */
  readonly code: ErrorCode | undefined;
  /** for the access log: a reason code (`encoded-slash`, `user-unauthorized`, ...) */
  readonly reason: string | undefined;
  /** close the connection after this reply (the request body was not read) */
  readonly close: boolean;
}

function reply(
  status: number,
  headers: Record<string, string | readonly string[]>,
  body: string,
  code: ErrorCode | undefined,
  reason: string | undefined,
  close = false,
): Reply {
  return { status, headers, body, code, reason, close };
}

function json(
  status: number,
  value: Record<string, unknown>,
  code: ErrorCode | undefined,
  reason: string | undefined,
  extra: Record<string, string> = {},
  close = false,
): Reply {
  return reply(
    status,
    { ...SECURITY_HEADERS, 'content-type': 'application/json', ...extra },
    `${JSON.stringify(value)}\n`,
    code,
    reason,
    close,
  );
}

function page(
  status: number,
  title: string,
  paragraphs: readonly string[],
  ctx: RequestContext,
  code: ErrorCode | undefined,
  reason: string | undefined,
  items?: readonly string[],
  close = false,
): Reply {
  return reply(
    status,
    {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CSP,
    },
    renderPage({ title, paragraphs, requestId: ctx.id, ...(items ? { items } : {}) }),
    code,
    reason,
    close,
  );
}

/** 400 (431 for oversized headers): the request was refused before any decision. */
export function badRequest(ctx: RequestContext, reason: string): Reply {
  const status = reason === 'headers-too-large' ? 431 : 400;
  if (ctx.browser) {
    return page(
      status,
      'Bad request',
      [
        'The address or the request is malformed or ambiguous, so it was refused.',
        `Reason: ${reason}`,
      ],
      ctx,
      'ZT_PEP_REQUEST_REJECTED',
      reason,
      undefined,
      true,
    );
  }
  return json(
    status,
    { error: 'bad_request', reason, request_id: ctx.id },
    'ZT_PEP_REQUEST_REJECTED',
    reason,
    {},
    true,
  );
}

export function notFound(ctx: RequestContext): Reply {
  if (ctx.browser) {
    return page(
      404,
      'Not found',
      ['No application is served at this address.'],
      ctx,
      'ZT_PEP_ROUTE_NOT_FOUND',
      'route-not-found',
    );
  }
  return json(
    404,
    { error: 'not_found', request_id: ctx.id },
    'ZT_PEP_ROUTE_NOT_FOUND',
    'route-not-found',
  );
}

/** 5xx: the request id and a generic error only. */
export function serverError(ctx: RequestContext, status: number, code: ErrorCode): Reply {
  const error = (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z]+/g, '_');
  const close = status === 413;
  if (ctx.browser) {
    const text =
      status === 503
        ? 'The service is temporarily unavailable. Please try again in a moment.'
        : status === 502 || status === 504
          ? 'The application behind this address did not answer.'
          : status === 413
            ? 'The request is too large.'
            : 'Something went wrong.';
    return page(
      status,
      STATUS_CODES[status] ?? 'Error',
      [text],
      ctx,
      code,
      undefined,
      undefined,
      close,
    );
  }
  return json(status, { error, request_id: ctx.id }, code, undefined, {}, close);
}

/** 405 on one of ztgate's own paths. */
export function methodNotAllowed(ctx: RequestContext, allow: string, close: boolean): Reply {
  const headers = { allow };
  if (ctx.browser) {
    const r = page(
      405,
      'Method not allowed',
      [`This address answers ${allow} only.`],
      ctx,
      'ZT_PEP_REQUEST_REJECTED',
      'method-not-allowed',
      undefined,
      close,
    );
    return { ...r, headers: { ...r.headers, ...headers } };
  }
  return json(
    405,
    { error: 'method_not_allowed', allow, request_id: ctx.id },
    'ZT_PEP_REQUEST_REJECTED',
    'method-not-allowed',
    headers,
    close,
  );
}

/** A redirect the identity port asked for (sign-in handoff, sign-out), with its cookies. */
export function portRedirect(
  location: string,
  setCookies: readonly string[],
  reason: string,
): Reply {
  return reply(
    302,
    {
      ...SECURITY_HEADERS,
      location,
      ...(setCookies.length > 0 ? { 'set-cookie': setCookies } : {}),
    },
    '',
    undefined,
    reason,
  );
}

export const HANDOFF_REFUSED_MESSAGE =
  'this sign-in link was already used or has expired — open the app again';
export const HANDOFF_OTHER_BROWSER_MESSAGE =
  'this sign-in link was started in another browser — open the app again in this browser';

/**
 * 400: a sign-in handoff ticket the identity port refused (used, expired, forged, other host, or
 * started in another browser).
 */
export function handoffRefused(ctx: RequestContext, code: ErrorCode): Reply {
  // the one refusal that may be an attack on this user: say so, rather than "expired"
  const otherBrowser = code === 'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH';
  if (ctx.browser) {
    return page(
      400,
      'Sign-in link not valid',
      [
        otherBrowser
          ? 'This sign-in link was started in another browser, so it was not used to sign you in. If you did not just sign in, someone may have sent you their link.'
          : 'This sign-in link was already used or has expired.',
        `Open the app again${otherBrowser ? ' in this browser' : ''}: https://${ctx.host}/`,
        `Reason: ${code}`,
      ],
      ctx,
      code,
      'handoff-refused',
    );
  }
  return json(
    400,
    {
      error: 'handoff_refused',
      code,
      message: otherBrowser ? HANDOFF_OTHER_BROWSER_MESSAGE : HANDOFF_REFUSED_MESSAGE,
      request_id: ctx.id,
    },
    code,
    'handoff-refused',
  );
}

/**
 * Not signed in: a browser goes to sign in (with `setCookies`: the route host's sign-in nonce), an
 * API client gets 401.
 */
export function loginRequired(
  ctx: RequestContext,
  loginUrl: string,
  setCookies: readonly string[] = [],
): Reply {
  if (ctx.browser) {
    return reply(
      302,
      {
        ...SECURITY_HEADERS,
        location: loginUrl,
        ...(setCookies.length > 0 ? { 'set-cookie': setCookies } : {}),
      },
      '',
      undefined,
      'user-unauthenticated',
    );
  }
  return json(
    401,
    { error: 'login_required', login_url: loginUrl, request_id: ctx.id },
    undefined,
    'user-unauthenticated',
    { 'www-authenticate': 'Bearer realm="ztgate"' },
  );
}

/** Fresher or stronger MFA needed: a browser goes to step up, an API client gets 401. */
export function stepUpRequired(
  ctx: RequestContext,
  url: string,
  requirement: StepUpRequirement,
  reasons: readonly Reason[],
  setCookies: readonly string[] = [],
): Reply {
  const code = reasons.find((r) => r.step_up !== undefined)?.code ?? 'mfa-required';
  if (ctx.browser) {
    return reply(
      302,
      {
        ...SECURITY_HEADERS,
        location: url,
        ...(setCookies.length > 0 ? { 'set-cookie': setCookies } : {}),
      },
      '',
      undefined,
      code,
    );
  }
  return json(
    401,
    {
      error: 'step_up_required',
      step_up: requirement,
      step_up_url: url,
      reasons: userReasons(reasons),
      request_id: ctx.id,
    },
    undefined,
    code,
    { 'www-authenticate': 'Bearer realm="ztgate", error="insufficient_user_authentication"' },
  );
}

/** 403 with the reasons a user may see. */
export function denied(ctx: RequestContext, decision: Decision): Reply {
  const reasons = userReasons(decision.reasons);
  const reason = decision.reasons[0]?.code;
  if (ctx.browser) {
    return page(
      403,
      'Access denied',
      ['You are not allowed to open this page.'],
      ctx,
      undefined,
      reason,
      reasons.map((r) => r.message),
    );
  }
  return json(403, { error: 'access_denied', reasons, request_id: ctx.id }, undefined, reason);
}

/** The reasons of a decision a user may read: code and message, at most five, no duplicates. */
export function userReasons(reasons: readonly Reason[]): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const r of reasons) {
    const key = `${r.code}\u0000${r.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ code: r.code, message: r.message });
    if (out.length === 5) break;
  }
  return out;
}

/** A plain JSON answer (health, forward-auth). */
export function jsonReply(
  status: number,
  value: Record<string, unknown>,
  extra: Record<string, string> = {},
  code?: ErrorCode,
  reason?: string,
): Reply {
  return json(status, value, code, reason, extra);
}

/** A bodiless answer with headers (forward-auth allow, redirects). */
export function emptyReply(
  status: number,
  headers: Record<string, string>,
  reason?: string,
): Reply {
  return reply(status, { ...SECURITY_HEADERS, ...headers }, '', undefined, reason);
}

export function textReply(status: number, contentType: string, body: string): Reply {
  return reply(
    status,
    { 'content-type': contentType, 'cache-control': 'no-store' },
    body,
    undefined,
    undefined,
  );
}

/** Merges the step-up requirements of the reasons: the shortest max_age, the first methods. */
export function stepUpRequirement(reasons: readonly Reason[]): StepUpRequirement {
  let maxAge: number | undefined;
  let methods: readonly string[] | undefined;
  for (const r of reasons) {
    const s = r.step_up;
    if (!s) continue;
    if (s.max_age !== undefined)
      maxAge = maxAge === undefined ? s.max_age : Math.min(maxAge, s.max_age);
    if (s.methods !== undefined && methods === undefined) methods = s.methods;
  }
  return {
    ...(maxAge !== undefined ? { max_age: maxAge } : {}),
    ...(methods !== undefined ? { methods } : {}),
  };
}
