/**
 * Step: one canonical path for the decision and the upstream request
 * (../request/normalize-path.ts); an ambiguous path is refused with 400.
 *
 * An absolute-form target (`GET https://host/p HTTP/1.1`) is checked on its path exactly as it was
 * sent: the framing check reads it through WHATWG URL, which already turns `\` into `/`, resolves
 * dot segments and drops tabs and newlines, so its result would hide the very ambiguities this
 * step refuses.
 */
import type { RequestContext } from '../context.js';
import { normalizeTarget } from '../request/normalize-path.js';
import { badRequest } from '../respond/replies.js';
import type { StepResult } from './step.js';

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\\]*/;

/** The target as sent, in origin form (`/p?q`): absolute-form loses its scheme and authority. */
export function rawOriginForm(url: string): string | undefined {
  if (url.charCodeAt(0) === 47) return url;
  const m = ABSOLUTE_FORM.exec(url);
  if (!m) return undefined;
  const target = url.slice(m[0].length);
  if (target === '') return '/';
  return target.charCodeAt(0) === 63 ? `/${target}` : target;
}

export function normalizePath(ctx: RequestContext): StepResult {
  const target = rawOriginForm(ctx.req.url ?? '');
  if (target === undefined) return badRequest(ctx, 'bad-target');
  const r = normalizeTarget(target);
  if (!r.ok) return badRequest(ctx, r.reason);
  ctx.path = r.path;
  ctx.upstreamPath = r.upstreamPath;
  ctx.query = r.query;
  return undefined;
}
