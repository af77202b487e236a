/**
 * Admin API tokens: `ztk_<id>_<secret>`, 8 random bytes of id (hex) and 32 of secret (base64url),
 * from node:crypto. The token is shown once, when it is created; the store keeps its SHA-256 only
 * (`admin/api-tokens/<id>` in the settings), so a copy of the database cannot be replayed. The id
 * in the token finds the record; the hashes are compared in constant time.
 *
 * A token has scopes (./scopes.ts), an expiry (at most a year) and can be revoked. It also stops
 * working when the user who created it is disabled or deleted: offboarding an admin ends their
 * tokens too.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SettingsStore, UserStore } from '../../store/store.js';
import { AdminError } from '../problem.js';
import type { Scope } from './scopes.js';

export const TOKEN_PREFIX = 'ztk_';
const TOKEN = /^ztk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ID = /^[0-9a-f]{16}$/;
const KEY_PREFIX = 'admin/api-tokens/';

export const MIN_TOKEN_TTL_MS = 60_000;
export const MAX_TOKEN_TTL_MS = 366 * 86_400_000;

export interface ApiTokenRecord {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** SHA-256 of the whole token, hex */
  readonly hash: string;
  /** the user on whose authority it was made (through a session or another token) */
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

/** A token record as shown: never the hash. */
export type ApiTokenView = Omit<ApiTokenRecord, 'hash'>;

export function tokenView(r: ApiTokenRecord): ApiTokenView {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
  };
}

export function isTokenId(id: string): boolean {
  return ID.test(id);
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function invalid(reason: string): AdminError {
  return new AdminError('ZT_ADMIN_TOKEN_INVALID', `the API token is not valid: ${reason}`, {
    help: 'create a new token (`POST /api/v1/tokens`) from a signed-in admin session',
  });
}

export class ApiTokens {
  constructor(
    private readonly settings: SettingsStore,
    private readonly users: UserStore,
  ) {}

  /** Creates a token; the returned `token` is the only copy there will ever be. */
  async create(input: {
    readonly name: string;
    readonly scopes: readonly Scope[];
    readonly ttlMs: number;
    readonly createdBy: string;
    readonly now: number;
  }): Promise<{ token: string; record: ApiTokenRecord }> {
    const id = randomBytes(8).toString('hex');
    const token = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const record: ApiTokenRecord = {
      id,
      name: input.name,
      scopes: [...new Set(input.scopes)].sort(),
      hash: sha256(token),
      createdBy: input.createdBy,
      createdAt: input.now,
      expiresAt: input.now + input.ttlMs,
      revokedAt: null,
    };
    if (!(await this.settings.setIfAbsent(KEY_PREFIX + id, JSON.stringify(record), input.now))) {
      // 64 random bits colliding: astronomically unlikely, never silently overwritten
      throw new AdminError('ZT_ADMIN_CONFLICT', 'a token with this id exists; try again');
    }
    return { token, record };
  }

  async get(id: string): Promise<ApiTokenRecord | undefined> {
    if (!ID.test(id)) return undefined;
    const raw = await this.settings.get(KEY_PREFIX + id);
    return raw === undefined ? undefined : (JSON.parse(raw) as ApiTokenRecord);
  }

  /** Every token, newest first. */
  async list(): Promise<ApiTokenRecord[]> {
    const out = [...(await this.settings.list(KEY_PREFIX)).values()].map(
      (raw) => JSON.parse(raw) as ApiTokenRecord,
    );
    return out.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  }

  /** Revokes a token; returns the record before and after (the same when it was revoked already). */
  async revoke(
    id: string,
    now: number,
  ): Promise<{ before: ApiTokenRecord; after: ApiTokenRecord } | undefined> {
    const before = await this.get(id);
    if (!before) return undefined;
    if (before.revokedAt !== null) return { before, after: before };
    const after: ApiTokenRecord = { ...before, revokedAt: now };
    await this.settings.set(KEY_PREFIX + id, JSON.stringify(after), now);
    return { before, after };
  }

  /**
   * The record of a presented token; throws `ZT_ADMIN_TOKEN_INVALID` (401) when it is malformed,
   * unknown, expired, revoked or its creator can no longer act. Messages never contain the token.
   */
  async verify(token: string, now: number): Promise<ApiTokenRecord> {
    const m = TOKEN.exec(token);
    if (!m || m[1] === undefined) throw invalid('malformed');
    const record = await this.get(m[1]);
    // Hash and compare even for an unknown id, so timing does not tell ids apart.
    const presented = Buffer.from(sha256(token), 'hex');
    const stored = Buffer.from(record?.hash ?? '0'.repeat(64), 'hex');
    const same = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (!record || !same) throw invalid('unknown');
    if (record.revokedAt !== null) throw invalid('revoked');
    if (now >= record.expiresAt) throw invalid('expired');
    const creator = await this.users.get(record.createdBy);
    if (!creator || creator.disabled) throw invalid('the user who created it can no longer act');
    return record;
  }
}
