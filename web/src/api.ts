/**
 * The console's only way to the server: the admin API over `fetch`, same origin, with the session
 * cookie. Every unsafe request carries `X-Ztgate-Csrf: 1` (the API refuses cookie writes without
 * it and without our `Origin`, which the browser adds). Problems become `ApiError`s with the
 * stable code.
 */

export interface Problem {
  readonly code?: string;
  readonly detail?: string;
  readonly help?: string;
  readonly problems?: readonly ConfigProblem[];
  readonly step_up?: { readonly max_age?: number; readonly methods?: readonly string[] };
  readonly request_id?: string;
}

export interface ConfigProblem {
  readonly code: string;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly help?: string;
  readonly path?: string;
  readonly pointer?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? `the server answered ${status}`);
  }
  get code(): string {
    return this.problem.code ?? '';
  }
}

export interface Answer<T> {
  readonly body: T;
  readonly etag: string | null;
}

export async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const init: RequestInit = {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(method !== 'GET' ? { 'x-ztgate-csrf': '1' } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  };
  const res = await fetch(`/api/v1${path}`, init);
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, parsed ?? {});
  return { body: parsed as T, etag: res.headers.get('etag') };
}

export const get = async <T>(path: string): Promise<T> => (await request<T>('GET', path)).body;
export const post = async <T>(path: string, body?: unknown): Promise<T> =>
  (await request<T>('POST', path, body)).body;

/** A path segment or query value, encoded. */
export const enc = encodeURIComponent;

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** Sends the browser to sign in and back here. */
export function signIn(): void {
  const back = `${location.pathname}${location.search}`;
  location.assign(`/oauth2/sign_in?return_to=${enc(back)}`);
}

export interface Me {
  readonly kind: 'session' | 'token';
  readonly user?: { readonly id: string; readonly email?: string; readonly groups: string[] };
  readonly admin: boolean;
  readonly decision?: 'allow' | 'deny' | 'login' | 'step_up';
  readonly reasons?: readonly { readonly code: string; readonly message: string }[];
  /** what the caller may do (every scope for an admin session) */
  readonly scopes?: readonly string[];
}

export interface Reason {
  readonly code: string;
  readonly message: string;
}

export interface Replayed {
  readonly decision: 'allow' | 'deny' | 'login' | 'step_up' | 'no-route';
  readonly policy: string | null;
  readonly rule: string | null;
  readonly reasons: readonly Reason[];
}

export interface Explanation {
  readonly request_id: string;
  readonly time: string;
  readonly route: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly source_ip: string | null;
  readonly user_id: string | null;
  readonly email: string | null;
  readonly device_id: string | null;
  readonly decision: string | null;
  readonly mode: string | null;
  readonly policy: string | null;
  readonly rule: string | null;
  readonly reasons: readonly Reason[];
  readonly now: (Replayed & { readonly approximations: readonly string[] }) | null;
}

export interface Session {
  readonly id: string;
  readonly ref: string;
  readonly user_id: string;
  readonly email?: string;
  readonly device_id: string | null;
  readonly status: string;
  readonly created_at: string;
  readonly last_seen_at: string;
  readonly expires_at: string;
  readonly mfa_methods: readonly string[];
  readonly mfa_at: string | null;
  readonly current?: boolean;
}
