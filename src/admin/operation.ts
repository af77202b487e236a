/**
 * One admin API operation: its method and path, who may call it, the zod schemas of its
 * parameters, body and answer, and its handler. The router and the OpenAPI document are both built
 * from the same list of operations, so the document cannot drift from what is served and the same
 * schemas validate requests and describe them.
 */
import type { z } from 'zod';
import type { AuditEvent } from '../audit/record.js';
import type { ApiTokens } from './auth/api-tokens.js';
import type { Principal } from './auth/principal.js';
import type { Scope } from './auth/scopes.js';
import type { AdminApiDeps } from './deps.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * `public`: anyone (the OpenAPI document); `authenticated`: any valid session or token (`/me`);
 * `user`: a signed-in session only, acting on that user's own records (the portal's `/me/...`: an
 * API token must not reach its creator's sessions and devices through a side door);
 * `admin`: an admin session or a token with the scope.
 */
export type Access = 'public' | 'authenticated' | 'user' | 'admin';

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One change, as the audit log records it (kind `admin`, with the acting principal). */
export interface Change {
  readonly action: string;
  readonly resource: string;
  /** any JSON-serializable view (null when the record did not exist / no longer exists) */
  readonly before: unknown;
  readonly after: unknown;
  readonly details?: AuditEvent['details'];
}

export interface OperationContext<P, Q, B> {
  readonly deps: AdminApiDeps;
  readonly tokens: ApiTokens;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** undefined only for `public` operations */
  readonly principal: Principal | undefined;
  readonly requestId: string;
  readonly now: number;
  /** the version named by `If-Match: "v<n>"`, if any */
  readonly ifMatch: number | undefined;
  /** records a change in the audit log */
  audit(change: Change): void;
}

export interface Response {
  readonly status: number;
  readonly description: string;
  readonly schema?: z.ZodType;
}

export interface OperationDef<P, Q, B> {
  readonly id: string;
  readonly method: Method;
  /** under `/api/v1`, with `{name}` parameters */
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly access: Access;
  /** for `admin` operations */
  readonly scope?: Scope;
  readonly params?: z.ZodType<P>;
  readonly query?: z.ZodType<Q>;
  /** the body schema; with `rawBody` it documents the body, which the handler validates itself */
  readonly body?: z.ZodType<B>;
  readonly rawBody?: boolean;
  readonly bodyRequired?: boolean;
  /** the operation takes `If-Match` */
  readonly ifMatch?: boolean;
  /** answers with an `ETag` */
  readonly etag?: boolean;
  readonly success: Response;
  /** further answers worth documenting beyond the common ones */
  readonly responses?: readonly Response[];
  handle(ctx: OperationContext<P, Q, B>): Promise<Reply>;
}

/** An operation with its types erased, as the router and the document hold it. */
export type Operation = OperationDef<unknown, unknown, unknown>;

export function op<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  def: OperationDef<P, Q, B>,
): Operation {
  return def;
}
