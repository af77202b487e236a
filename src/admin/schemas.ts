/**
 * The zod schemas shared by several admin operations: parameters (path and query values arrive as
 * strings and are checked here, ids included) and the views records are shown as. Views are built
 * by the `*View` functions from store records, never by passing records through: a field that is
 * not in a view (a password hash, a token hash) cannot leak.
 */
import { z } from 'zod';
import { POLICY_NAME_PATTERN } from '../config/schema.js';
import type { GroupRecord, SessionRecord, UserRecord } from '../store/store.js';

// ---------------------------------------------------------------------------------------------
// parameters

/** A record id in a path: printable, no separators, bounded. */
const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._:@+=-]{0,255}$/;

export const IdParam = z.string().regex(ID_PATTERN, 'malformed id');
export const UserIdParam = IdParam.meta({ description: 'a user id (`u_...`, `x_...`)' });
export const DeviceIdParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'malformed device id')
  .meta({ description: 'a device id' });
export const SessionIdParam = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a session id is 64 lower-case hex digits')
  .meta({ description: 'the SHA-256 of the session cookie value (`id` in session listings)' });
export const SerialParam = z
  .string()
  .regex(/^[0-9a-fA-F]{1,64}$/, 'a certificate serial is hexadecimal')
  .meta({ description: 'a certificate serial number, hex' });
export const TokenIdParam = z
  .string()
  .regex(/^[0-9a-f]{16}$/, 'a token id is 16 hex digits')
  .meta({ description: 'an API token id' });
export const GroupNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'malformed group name')
  .meta({ description: '1 to 128 letters, digits, `.`, `_`, `:`, `@` or `-`' });
export const PolicyNameParam = z
  .string()
  .regex(new RegExp(POLICY_NAME_PATTERN), 'malformed policy name')
  // names that are also Object.prototype's own keys never become record keys
  .refine((n) => !['__proto__', 'constructor', 'prototype'].includes(n), 'reserved name')
  .meta({ description: 'a policy name' });
export const VersionParam = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, 'a version is a positive whole number')
  .transform(Number)
  .meta({ description: 'a config version number' });

export const LimitQuery = z
  .string()
  .regex(/^[1-9][0-9]{0,3}$/, 'expected a whole number from 1 to 1000')
  .transform(Number)
  .pipe(z.number().max(1000, 'expected a whole number from 1 to 1000'))
  .optional()
  .meta({ description: 'at most this many (1-1000, default 100)' });
export const CursorQuery = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,1400}$/, 'malformed cursor')
  .optional()
  .meta({ description: '`next_cursor` of the previous page' });
export const BoolQuery = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .optional();

/** An ISO 8601 time with a zone, as a query value. */
export const TimeQuery = z
  .string()
  .max(40)
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/,
    'expected an ISO 8601 time with a zone (`2026-11-22T10:00:00Z`)',
  )
  .transform((s, ctx) => {
    const ms = Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'not a valid time' });
      return z.NEVER;
    }
    return ms;
  })
  .optional();

export const NoParams = z.strictObject({});

// ---------------------------------------------------------------------------------------------
// views

const Time = z.string().meta({ description: 'ISO 8601, UTC', format: 'date-time' });
const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export const UserView = z
  .object({
    id: z.string(),
    email: z.string(),
    display_name: z.string(),
    groups: z.array(z.string()),
    disabled: z.boolean(),
    has_password: z.boolean(),
    created_at: Time,
    updated_at: Time,
  })
  .meta({ id: 'User', description: 'A user (never the password hash).' });
export type UserView = z.infer<typeof UserView>;

export function userView(u: UserRecord): UserView {
  return {
    id: u.id,
    email: u.email,
    display_name: u.displayName,
    groups: [...u.groups],
    disabled: u.disabled,
    has_password: u.passwordHash !== null,
    created_at: iso(u.createdAt),
    updated_at: iso(u.updatedAt),
  };
}

export const GroupView = z
  .object({ name: z.string(), description: z.string(), created_at: Time })
  .meta({ id: 'Group' });
export type GroupView = z.infer<typeof GroupView>;

export function groupView(g: GroupRecord): GroupView {
  return { name: g.name, description: g.description, created_at: iso(g.createdAt) };
}

export const SessionView = z
  .object({
    id: z.string().meta({ description: 'SHA-256 of the cookie value: revoke with it' }),
    ref: z.string().meta({ description: 'the first 16 hex digits, as logs and the CLI show it' }),
    user_id: z.string(),
    email: z.string().optional(),
    device_id: z.string().nullable(),
    status: z.enum(['active', 'revoked', 'expired', 'idle']),
    created_at: Time,
    last_seen_at: Time,
    expires_at: Time,
    mfa_methods: z.array(z.string()),
    mfa_at: Time.nullable(),
  })
  .meta({ id: 'Session' });
export type SessionView = z.infer<typeof SessionView>;

export function sessionStatus(s: SessionRecord, now: number): SessionView['status'] {
  if (s.revokedAt !== null) return 'revoked';
  if (now >= s.expiresAt) return 'expired';
  if (now >= s.idleExpiresAt) return 'idle';
  return 'active';
}

export function sessionView(s: SessionRecord, now: number, email?: string): SessionView {
  return {
    id: s.idHash,
    ref: s.idHash.slice(0, 16),
    user_id: s.userId,
    ...(email !== undefined ? { email } : {}),
    device_id: s.deviceId,
    status: sessionStatus(s, now),
    created_at: iso(s.createdAt),
    last_seen_at: iso(s.lastSeenAt),
    expires_at: iso(Math.min(s.expiresAt, s.idleExpiresAt)),
    mfa_methods: [...s.mfaMethods],
    mfa_at: isoOrNull(s.mfaAt),
  };
}

export const PageOf = <T extends z.ZodType>(key: string, item: T) =>
  z.object({ [key]: z.array(item), next_cursor: z.string().nullable() });

export const Revoked = z.object({
  revoked: z.boolean().meta({ description: 'false when it was revoked already' }),
});

export { iso, isoOrNull };
