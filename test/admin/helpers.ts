/**
 * A real admin API on a real store (SQLite in a temporary directory, or PostgreSQL), behind a plain
 * http server on 127.0.0.1: real sessions (SessionManager), real device records, the real audit
 * writer and config manager. Time is a manual clock.
 */
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sessionResolver, storeDeviceFacts } from '../../src/admin/adapters.js';
import { createAdminApi, type AdminApi } from '../../src/admin/api.js';
import { ConfigManager } from '../../src/admin/config/config-manager.js';
import type { AdminApiDeps } from '../../src/admin/deps.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { queryAudit } from '../../src/audit/query.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { loadConfigText } from '../../src/config/load.js';
import { SecretBox } from '../../src/identity/secret-box.js';
import { SESSION_COOKIE } from '../../src/identity/session/cookie.js';
import { SessionManager } from '../../src/identity/session/session-manager.js';
import type { Store, UserRecord } from '../../src/store/store.js';
import {
  sqliteTestBackend,
  tempDir,
  type TestBackend,
  type TestDatabase,
} from '../../src/store/testing.js';

export const PUBLIC_URL = 'https://auth.test.example';
export const ORIGIN = PUBLIC_URL;

export const BASE_CONFIG = `public_url: ${PUBLIC_URL}
routes:
  - from: https://app.test.example
    to: http://127.0.0.1:9
    policy: engineering
policies:
  engineering:
    allow:
      - groups: [engineering]
`;

export interface Clock {
  now: number;
}

export interface Harness {
  readonly url: string;
  readonly store: Store;
  readonly db: TestDatabase;
  readonly api: AdminApi;
  readonly config: ConfigManager;
  readonly sessions: SessionManager;
  readonly writer: AuditWriter;
  readonly clock: Clock;
  readonly dir: string;
  readonly admin: UserRecord;
  readonly user: UserRecord;
  /** `Cookie` header of an admin session (admins group, fresh MFA, managed device) */
  readonly adminCookie: string;
  /** `Cookie` header of a signed-in non-admin (engineering, fresh MFA, managed device) */
  readonly userCookie: string;
  /** a session cookie for any user, with MFA and a managed device */
  signIn(user: UserRecord, options?: { mfa?: boolean; device?: boolean }): Promise<string>;
  addUser(email: string, groups: string[]): Promise<UserRecord>;
  /** the audit records written so far, newest first */
  records(filter?: { kind?: string }): Promise<readonly AuditRecord[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly backend?: TestBackend;
  readonly configText?: string;
  readonly deps?: Partial<AdminApiDeps>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = await (options.backend ?? sqliteTestBackend).createDatabase();
  const store = await db.open();
  const clock: Clock = { now: Date.parse('2026-11-22T10:00:00.000Z') };
  const now = (): number => clock.now;
  const dir = tempDir('ztgate-admin-');
  const file = join(dir, 'ztgate.yaml');
  const text = options.configText ?? BASE_CONFIG;
  writeFileSync(file, text);
  const loaded = loadConfigText(text, file, { env: {} });
  const config = await ConfigManager.open({
    versions: store.configVersions,
    settings: store.settings,
    file: loaded,
    now,
  });
  const sessions = new SessionManager({
    sessions: store.sessions,
    users: store.users,
    settings: store.settings,
    devices: store.devices,
    box: SecretBox.random(),
    policy: { ttlMs: 8 * 3_600_000, idleMs: 3_600_000, revalidateMs: 15 * 60_000 },
    now,
  });
  const writer = new AuditWriter(store.audit, { batchWindowMs: 2, now });
  const api = createAdminApi({
    publicUrl: PUBLIC_URL,
    store,
    config,
    identity: sessionResolver(sessions),
    sessions,
    deviceFacts: storeDeviceFacts(store.devices, { now }),
    audit: writer,
    now,
    ...(options.deps ?? {}),
  });
  const server: Server = createServer((req, res) => {
    void api.handle(req, res).then((handled) => {
      if (!handled) {
        res.statusCode = 404;
        res.end('not the admin api');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  let deviceCount = 0;
  const addUser = (email: string, groups: string[]): Promise<UserRecord> =>
    store.users.create({ id: `u_${email.split('@')[0] ?? 'x'}`, email, groups, at: clock.now });
  const signIn = async (
    user: UserRecord,
    o: { mfa?: boolean; device?: boolean } = {},
  ): Promise<string> => {
    let deviceId: string | null = null;
    if (o.device !== false) {
      deviceId = `dev-${++deviceCount}`;
      await store.devices.create({
        id: deviceId,
        userId: user.id,
        hostname: `host-${deviceCount}`,
        os: 'linux',
        enrolledAt: clock.now,
        certificateSerial: (0x10 + deviceCount).toString(16),
        state: 'active',
      });
    }
    const created = await sessions.create({
      userId: user.id,
      deviceId,
      ...(o.mfa !== false ? { mfaMethods: ['totp'], mfaAt: clock.now } : {}),
    });
    return `${SESSION_COOKIE}=${created.rawId}`;
  };
  const admin = await addUser('root@example.com', ['admins']);
  const user = await addUser('eve@example.com', ['engineering']);
  const adminCookie = await signIn(admin);
  const userCookie = await signIn(user);
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    db,
    api,
    config,
    sessions,
    writer,
    clock,
    dir,
    admin,
    user,
    adminCookie,
    userCookie,
    signIn,
    addUser,
    async records(filter = {}) {
      await writer.drain();
      return (
        await queryAudit(store.audit, {
          limit: 1000,
          ...(filter.kind ? { kind: filter.kind } : {}),
        })
      ).records;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await writer.close();
      await store.close();
      await db.drop();
    },
  };
}

export interface CallOptions {
  readonly cookie?: string;
  readonly token?: string;
  /** JSON-encoded unless a string or Buffer */
  readonly body?: unknown;
  readonly headers?: Record<string, string | undefined>;
  /** send `Origin` and `X-Ztgate-Csrf: 1` (default true) */
  readonly csrf?: boolean;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** parsed JSON (undefined for an empty body); tests read it freely, hence `any` */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** One request with full control over the target and headers (no URL normalization). */
export function call(
  base: string,
  method: string,
  path: string,
  o: CallOptions = {},
): Promise<CallResult> {
  const url = new URL(base);
  let payload: Buffer | undefined;
  const headers: Record<string, string> = {};
  if (o.body !== undefined) {
    payload = Buffer.isBuffer(o.body)
      ? o.body
      : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
    headers['content-type'] = 'application/json';
  }
  if (o.cookie) headers.cookie = o.cookie;
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.csrf !== false) {
    headers.origin = ORIGIN;
    headers['x-ztgate-csrf'] = '1';
  }
  if (payload) headers['content-length'] = String(payload.length);
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (v === undefined) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Creates an API token through the API with an admin session; returns the secret and its id. */
export async function createToken(
  h: Harness,
  scopes: string[],
  ttl = '1h',
): Promise<{ token: string; id: string }> {
  const r = await call(h.url, 'POST', '/api/v1/tokens', {
    // a fresh admin session: tests move the clock past the MFA window of `adminCookie`
    cookie: await h.signIn(h.admin),
    body: { name: 'test', scopes, ttl },
  });
  if (r.status !== 201) throw new Error(`token creation failed: ${r.status} ${r.text}`);
  const created = r.json as { token: string; id: string };
  return { token: created.token, id: created.id };
}
