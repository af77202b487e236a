/**
 * The request target of an admin API call, read strictly: the path under `/api/v1`, split into
 * segments and percent-decoded one segment at a time, and the query string. Anything a path could
 * be made ambiguous with (an encoded `/` or `\`, NUL and control characters, dot segments, empty
 * segments) is refused rather than normalized, so an id can never climb out of its segment.
 */
import { badRequest } from '../problem.js';

export const API_PREFIX = '/api/v1';

export interface ApiTarget {
  /** decoded segments after `/api/v1` */
  readonly segments: readonly string[];
  /** the path as received, without the query: for the decision input and the audit log */
  readonly path: string;
  readonly query: URLSearchParams;
}

const MAX_TARGET = 8 * 1024;
// eslint-disable-next-line no-control-regex -- control characters are exactly what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;

/** True when the target is for the admin API at all (the handler answers nothing else). */
export function isApiTarget(url: string | undefined): boolean {
  if (url === undefined) return false;
  const path = url.split('?', 1)[0] ?? '';
  return path === API_PREFIX || path.startsWith(`${API_PREFIX}/`);
}

export function parseTarget(url: string): ApiTarget {
  if (url.length > MAX_TARGET) badPath('the request target is too long');
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? '' : url.slice(q + 1);
  if (url.includes('#')) badPath('the request target has a fragment');
  const rest = path.slice(API_PREFIX.length);
  const raw = rest === '' || rest === '/' ? [] : rest.slice(1).split('/');
  const segments = raw.map((s) => decodeSegment(s));
  return { segments, path, query: new URLSearchParams(search) };
}

function decodeSegment(raw: string): string {
  if (raw === '') badPath('the path has an empty segment (`//` or a trailing `/`)');
  let s: string;
  try {
    s = decodeURIComponent(raw);
  } catch {
    badPath('the path has a malformed percent-encoding');
  }
  if (s === '.' || s === '..') badPath('the path has a dot segment');
  if (s.includes('/') || s.includes('\\')) badPath('a path segment holds an encoded `/` or `\\`');
  if (CONTROL.test(s)) badPath('a path segment holds a control character');
  return s;
}

function badPath(message: string): never {
  throw badRequest(message, 'ids go in one path segment, percent-encoded');
}

/** `/users/{id}` -> its segments, with `{id}` as a parameter. */
export type TemplateSegment = { readonly literal: string } | { readonly param: string };

export function compileTemplate(template: string): readonly TemplateSegment[] {
  if (template === '/') return [];
  return template
    .slice(1)
    .split('/')
    .map((s) =>
      s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s },
    );
}

/** The parameters of `segments` under a template, or undefined when it does not match. */
export function matchTemplate(
  template: readonly TemplateSegment[],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (template.length !== segments.length) return undefined;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < template.length; i++) {
    const t = template[i];
    const s = segments[i];
    if (t === undefined || s === undefined) return undefined;
    if ('literal' in t) {
      if (t.literal !== s) return undefined;
    } else params[t.param] = s;
  }
  return params;
}

/** How many literal segments a template has: the more, the more specific. */
export function specificity(template: readonly TemplateSegment[]): number {
  return template.filter((t) => 'literal' in t).length;
}
