/**
 * The admin API: `createAdminApi(deps).handle(req, res)` answers every request under `/api/v1`
 * (and resolves `false` for anything else, for the next handler). One pipeline for every
 * operation, in this order:
 *
 *   target (strict path) -> operation (404/405) -> credential (401) -> CSRF for cookie writes (403)
 *   -> authorization: admin policy or token scope (403, audited) -> parameters (400)
 *   -> body: JSON only (415), bounded (413), hostile-safe (400) -> handler -> JSON answer
 *
 * Refusals come before the body is read, so nobody unauthenticated can make the server parse
 * anything. Every answer, success or problem, is JSON with `nosniff` and `no-store`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { ZtError } from '../shared/errors.js';
import type { AuditEvent } from '../audit/record.js';
import type { JsonValue } from '../store/store.js';
import { ApiTokens } from './auth/api-tokens.js';
import { actorOf, authenticate, authorize, type Principal } from './auth/principal.js';
import type { AdminApiDeps, RequestInfo } from './deps.js';
import { checkCsrf } from './http/csrf.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  isJsonContentType,
  parseJsonBody,
  readBody,
  unsupportedMediaType,
  type AnyRequest,
} from './http/body.js';
import {
  compileTemplate,
  isApiTarget,
  matchTemplate,
  parseTarget,
  specificity,
  type TemplateSegment,
} from './http/path.js';
import { sendJson, type AnyResponse } from './http/respond.js';
import { buildOpenApi, type OpenApiDocument } from './openapi.js';
import type { Change, Operation, OperationContext, Reply } from './operation.js';
import { adminOperations } from './operations/index.js';
import { AdminError, badRequest, toProblem } from './problem.js';
import { parseWith } from './validate.js';

export interface AdminApi {
  /** Answers requests under `/api/v1`; resolves false (and writes nothing) for other paths. */
  handle(req: AnyRequest, res: AnyResponse): Promise<boolean>;
  /** Every operation served, in document order. */
  readonly operations: readonly Operation[];
  /** The OpenAPI 3.1 document served at `/api/v1/openapi.json`. */
  openapi(): OpenApiDocument;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Route {
  readonly op: Operation;
  readonly template: readonly TemplateSegment[];
  readonly specificity: number;
}

export function createAdminApi(deps: AdminApiDeps): AdminApi {
  const tokens = new ApiTokens(deps.store.settings, deps.store.users);
  const now = deps.now ?? Date.now;
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const publicHost = new URL(deps.publicUrl).host.toLowerCase();
  let document: OpenApiDocument | undefined;
  const openapi = (): OpenApiDocument => (document ??= buildOpenApi(operations, deps.publicUrl));
  const operations = adminOperations(openapi);
  const routes: Route[] = operations.map((op) => {
    const template = compileTemplate(op.path);
    return { op, template, specificity: specificity(template) };
  });

  function find(
    method: string,
    segments: readonly string[],
  ): { route: Route; params: Record<string, string> } {
    const matching = routes
      .map((route) => ({ route, params: matchTemplate(route.template, segments) }))
      .filter((m): m is { route: Route; params: Record<string, string> } => m.params !== undefined);
    if (matching.length === 0) throw new AdminError('ZT_ADMIN_NOT_FOUND', 'no such endpoint');
    const forMethod = matching
      .filter((m) => m.route.op.method === method)
      .sort((a, b) => b.route.specificity - a.route.specificity);
    const best = forMethod[0];
    if (!best) {
      const allow = [...new Set(matching.map((m) => m.route.op.method))].sort().join(', ');
      throw new AdminError('ZT_ADMIN_METHOD_NOT_ALLOWED', `this endpoint does not take ${method}`, {
        headers: { allow },
      });
    }
    return best;
  }

  function info(req: AnyRequest): RequestInfo {
    if (deps.requestInfo) return deps.requestInfo(req);
    const socket = (req as IncomingMessage).socket as { remoteAddress?: string } | undefined;
    return socket?.remoteAddress ? { sourceIp: socket.remoteAddress } : {};
  }

  function audit(event: AuditEvent): void {
    deps.audit.append(event);
  }

  /** A refusal of an authenticated principal is worth a record: someone tried. */
  function auditRefusal(
    p: Principal,
    op: Operation,
    err: AdminError,
    base: Partial<AuditEvent>,
  ): void {
    try {
      audit({
        ...base,
        kind: 'admin',
        action: 'admin.refused',
        outcome: 'failure',
        actor: actorOf(p),
        details: { operation: op.id, code: err.code },
      });
    } catch {
      // a full audit backlog is reported by the writer itself; the refusal stands
    }
  }

  async function serve(req: AnyRequest, requestId: string, ri: RequestInfo): Promise<Reply> {
    const target = parseTarget(req.url ?? '');
    const method = (req.method ?? 'GET').toUpperCase();
    const { route, params: rawParams } = find(method, target.segments);
    const op = route.op;
    const at = now();
    const sourceIp = ri.sourceIp ?? '';
    const base: Partial<AuditEvent> = {
      time: at,
      request_id: requestId,
      ...(sourceIp ? { source_ip: sourceIp } : {}),
      method,
      path: target.path,
    };

    let principal: Principal | undefined;
    if (op.access !== 'public') {
      principal = await resolvePrincipal(req, method, target.path, sourceIp, ri, at);
      if (!principal) {
        throw new AdminError('ZT_ADMIN_UNAUTHENTICATED', 'sign in or send an API token', {
          help: 'send `Authorization: Bearer ztk_...` or the session cookie of a signed-in admin',
        });
      }
      if (principal.kind === 'session' && UNSAFE.has(method)) {
        checkCsrf(req.headers, deps.publicUrl);
      }
      if (op.access === 'user' && principal.kind !== 'session') {
        throw new AdminError(
          'ZT_ADMIN_SESSION_REQUIRED',
          'this endpoint acts for a signed-in user; API tokens cannot call it',
          { help: 'use the admin endpoints (`/sessions`, `/devices`) with a token instead' },
        );
      }
      if (op.access === 'admin') {
        if (!op.scope) throw new Error(`admin operation ${op.id} has no scope`);
        try {
          authorize(principal, op.scope);
        } catch (err) {
          if (err instanceof AdminError) auditRefusal(principal, op, err, base);
          throw err;
        }
      }
    }

    const params = parseWith(op.params ?? noParams, rawParams, 'path');
    const query = parseWith(op.query ?? noParams, queryObject(target.query), 'query string');
    const ifMatch = op.ifMatch ? parseIfMatch(req.headers['if-match']) : undefined;

    let body: unknown = undefined;
    if (UNSAFE.has(method)) {
      const type = req.headers['content-type'];
      if (type !== undefined && !isJsonContentType(type)) throw unsupportedMediaType();
      const raw = await readBody(req, maxBody);
      if (raw.length > 0 && type === undefined) throw unsupportedMediaType();
      const parsed = parseJsonBody(raw);
      if (parsed === undefined && op.bodyRequired)
        throw badRequest('this endpoint needs a JSON body');
      if (parsed !== undefined && !op.body) throw badRequest('this endpoint takes no body');
      body =
        parsed !== undefined && op.body && !op.rawBody
          ? parseWith(op.body, parsed, 'body')
          : parsed;
      // Refuse a change that could not be recorded before making it (fail closed).
      if (deps.audit.overloaded) {
        throw new AdminError('ZT_ADMIN_UNAVAILABLE', 'the audit log is not accepting records');
      }
    }

    const ctx: OperationContext<unknown, unknown, unknown> = {
      deps,
      tokens,
      params,
      query,
      body,
      principal,
      requestId,
      now: at,
      ifMatch,
      audit(change: Change): void {
        if (!principal) throw new Error('a public operation cannot change anything');
        audit({
          ...base,
          kind: 'admin',
          action: change.action,
          outcome: 'success',
          actor: actorOf(principal),
          resource: change.resource,
          before: asJson(change.before),
          after: asJson(change.after),
          ...(change.details ? { details: change.details } : {}),
        });
      },
    };
    return op.handle(ctx);
  }

  async function resolvePrincipal(
    req: AnyRequest,
    method: string,
    path: string,
    sourceIp: string,
    ri: RequestInfo,
    at: number,
  ): Promise<Principal | undefined> {
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join('; ') : v;
    };
    try {
      return await authenticate(
        {
          method,
          host: publicHost,
          path,
          cookie: header('cookie'),
          authorization: header('authorization'),
          sourceIp,
          clientCertFingerprint: ri.clientCertFingerprint,
          now: at,
        },
        deps,
        tokens,
      );
    } catch (err) {
      if (err instanceof ZtError) throw err;
      // Identity or device facts could not be consulted: fail closed, never guess.
      throw new AdminError('ZT_ADMIN_UNAVAILABLE', 'identity could not be checked', { cause: err });
    }
  }

  return {
    operations,
    openapi,
    async handle(req, res) {
      if (!isApiTarget(req.url)) return false;
      const ri = info(req);
      const requestId = ri.requestId ?? randomUUID();
      try {
        const reply = await serve(req, requestId, ri);
        sendJson(res, reply.status, reply.body, {
          headers: { ...(reply.headers ?? {}), 'x-request-id': requestId },
        });
      } catch (err) {
        const p = toProblem(err, requestId);
        if (p.internal !== undefined) deps.onError?.(p.internal, requestId);
        sendJson(res, p.status, p.body, {
          problem: true,
          headers: { ...p.headers, 'x-request-id': requestId },
        });
      }
      return true;
    },
  };
}

const noParams = z.strictObject({});

/** A view as plain JSON: no `undefined`, no class instances, nothing shared with live objects. */
function asJson(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
}

/** The query as an object; a parameter given twice is ambiguous and refused. */
function queryObject(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of query) {
    if (Object.hasOwn(out, k))
      throw badRequest(`the query parameter \`${k.slice(0, 64)}\` is given twice`);
    out[k] = v;
  }
  return { ...out };
}

/** `If-Match: "v12"` -> 12; absent or `*` -> undefined. */
function parseIfMatch(value: string | string[] | undefined): number | undefined {
  if (value === undefined || value === '*') return undefined;
  const m = typeof value === 'string' ? /^"v([1-9][0-9]{0,14})"$/.exec(value.trim()) : null;
  if (!m || m[1] === undefined)
    throw badRequest('`If-Match` must be an ETag this API gave (`"v12"`)');
  return Number(m[1]);
}
