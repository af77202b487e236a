/**
 * The OpenAPI 3.1 document of the admin API, generated from the operation list: the same zod
 * schemas that validate parameters and bodies describe them here (`z.toJSONSchema`, JSON Schema
 * 2020-12, which OpenAPI 3.1 uses as it is). Each operation says who may call it
 * (`x-ztgate-access`) and with which scope (`x-ztgate-scope`).
 */
import { z } from 'zod';
import { SESSION_COOKIE } from '../identity/session/cookie.js';
import { SCOPES } from './auth/scopes.js';
import type { Operation } from './operation.js';
import { API_PREFIX } from './http/path.js';

export type OpenApiDocument = { readonly [key: string]: unknown };
type Json = Record<string, unknown>;

const ProblemSchema = z
  .object({
    type: z.string().meta({ description: '`urn:ztgate:error:<code>`' }),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ description: 'the stable ztgate error code (docs/errors.md)' }),
    detail: z.string().optional(),
    help: z.string().optional(),
    request_id: z.string(),
    problems: z
      .array(
        z.object({
          code: z.string(),
          severity: z.enum(['error', 'warning']),
          message: z.string(),
          help: z.string().optional(),
          path: z.string().optional(),
          pointer: z.string().optional(),
          line: z.number().int().optional(),
          col: z.number().int().optional(),
        }),
      )
      .optional(),
    step_up: z
      .object({ max_age: z.number().optional(), methods: z.array(z.string()).optional() })
      .optional(),
  })
  .meta({ description: 'RFC 9457 problem details with a stable `code`.' });

const COMMON_ERRORS: Record<string, string> = {
  '400': 'malformed request (the problem names what is wrong)',
  '401': 'no valid session or API token',
  '403': 'not allowed: admin policy, token scope or CSRF check',
  '404': 'no such record',
  '413': 'body too large',
  '415': 'body is not `application/json`',
  '500': 'unexpected error (the body carries the request id only)',
  '503': 'a dependency (store, identity, audit log, CA) is unavailable',
};

export function buildOpenApi(operations: readonly Operation[], publicUrl: string): OpenApiDocument {
  const registry = z.registry<{ id: string }>();
  registry.add(ProblemSchema, { id: 'Problem' });
  const idOf = new Map<z.ZodType, string>();
  const name = (schema: z.ZodType, fallback: string): string => {
    const known = idOf.get(schema);
    if (known) return known;
    const meta = z.globalRegistry.get(schema) as { id?: unknown } | undefined;
    const id = typeof meta?.id === 'string' ? meta.id : fallback;
    idOf.set(schema, id);
    if (!registry.has(schema)) registry.add(schema, { id });
    return id;
  };
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  for (const op of operations) {
    if (op.body) name(op.body, `${cap(op.id)}Request`);
    if (op.success.schema) name(op.success.schema, `${cap(op.id)}Response`);
    for (const r of op.responses ?? []) if (r.schema) name(r.schema, `${cap(op.id)}${r.status}`);
  }
  const generated = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: 'input',
    unrepresentable: 'any',
  }) as { schemas: Record<string, Json> };
  const schemas = hoistShared(generated.schemas);
  const ref = (schema: z.ZodType): Json => ({ $ref: `#/components/schemas/${idOf.get(schema)}` });

  const paths: Record<string, Json> = {};
  for (const op of operations) {
    const responses: Record<string, Json> = {
      [String(op.success.status)]: {
        description: op.success.description,
        ...(op.success.schema
          ? { content: { 'application/json': { schema: ref(op.success.schema) } } }
          : {}),
      },
    };
    for (const r of op.responses ?? []) {
      responses[String(r.status)] = {
        description: r.description,
        content: {
          [r.status >= 400 ? 'application/problem+json' : 'application/json']: {
            schema: r.schema ? ref(r.schema) : r.status >= 400 ? problemRef() : {},
          },
        },
      };
    }
    const errors = Object.entries(COMMON_ERRORS).filter(
      ([status]) => op.access !== 'public' || status === '500' || status === '404',
    );
    for (const [status, description] of errors) {
      responses[status] ??= {
        description,
        content: { 'application/problem+json': { schema: problemRef() } },
      };
    }
    const parameters: Json[] = [
      ...parametersOf(op.params, 'path'),
      ...parametersOf(op.query, 'query'),
      ...(op.ifMatch
        ? [
            {
              name: 'If-Match',
              in: 'header',
              required: false,
              description:
                'the ETag read before (`"v12"`): the change is refused (412) if the config moved on',
              schema: { type: 'string', pattern: '^"v[1-9][0-9]*"$' },
            },
          ]
        : []),
    ];
    const operation: Json = {
      operationId: op.id,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      ...(op.access === 'public' ? { security: [] } : {}),
      ...(op.access === 'user' ? { security: [{ session: [] }] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: op.bodyRequired === true,
              content: { 'application/json': { schema: ref(op.body) } },
            },
          }
        : {}),
      responses,
      'x-ztgate-access': op.access,
      ...(op.scope ? { 'x-ztgate-scope': op.scope } : {}),
    };
    const path = op.path;
    paths[path] = { ...(paths[path] ?? {}), [op.method.toLowerCase()]: operation };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'ztgate admin API',
      version: '1',
      description:
        'Routes, policies and their versions, users, groups, sessions, devices, certificates, audit records and API tokens. Callers are admins signed in with a session (cookie; writes need `Origin` and `X-Ztgate-Csrf: 1`) whom the `ztgate-admin` policy allows, or API tokens (`Authorization: Bearer ztk_...`) with scopes. See docs/admin.md.',
    },
    servers: [{ url: `${publicUrl.replace(/\/$/, '')}${API_PREFIX}` }],
    security: [{ session: [] }, { apiToken: [] }],
    tags: [...new Set(operations.map((o) => o.tag))].map((t) => ({ name: t })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: 'the session of a signed-in admin (the `ztgate-admin` policy decides)',
        },
        apiToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'ztk',
          description: `an admin API token; scopes: ${SCOPES.join(', ')}`,
        },
      },
    },
  };
}

function problemRef(): Json {
  return { $ref: '#/components/schemas/Problem' };
}

/** Path or query parameters from a `z.strictObject` of string schemas. */
function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema || !(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, value]) => {
    const json = z.toJSONSchema(value, { io: 'input', unrepresentable: 'any' }) as Json;
    const { $schema: _s, description, ...rest } = json;
    return {
      name: key,
      in: where,
      required: where === 'path' || !value.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/**
 * zod puts schemas that carry an `id` of their own but are not in the registry (the policy
 * language's `Policy` and `Rule`) under a `__shared` entry; make them components of their own.
 */
function hoistShared(input: Record<string, Json>): Record<string, Json> {
  const shared = (input.__shared?.$defs ?? {}) as Record<string, Json>;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(input)) if (k !== '__shared') out[k] = v;
  for (const [k, v] of Object.entries(shared)) out[k] ??= v;
  const rewritten = JSON.parse(
    JSON.stringify(out).replaceAll(
      '#/components/schemas/__shared#/$defs/',
      '#/components/schemas/',
    ),
  ) as Record<string, Json>;
  for (const v of Object.values(rewritten)) {
    delete v.$schema;
    delete v.$id;
  }
  return rewritten;
}
