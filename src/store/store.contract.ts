/**
 * The store contract: one suite, registered once per backend (`sqlite.test.ts`, `postgres.test.ts`).
 * Every behaviour domain code relies on is asserted here, so both backends behave the same.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LATEST_SCHEMA_VERSION } from './migrations/index.js';
import {
  GENESIS_HASH,
  hashSessionId,
  type AuditDraft,
  type AuditLinker,
  type Store,
} from './store.js';
import { eventually, type TestBackend, type TestDatabase } from './testing.js';

const T0 = 1_800_000_000_000;

function uid(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

function code(c: string) {
  return (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, c, `expected ${c}, got ${String(err)}`);
    return true;
  };
}

/** A linker for storage tests: hashes are just labels here (src/audit tests the real chain). */
const testLinker: AuditLinker = (head, drafts) => {
  let seq = head.seq;
  let prev = head.hash;
  return drafts.map((d) => {
    seq += 1;
    const hash = `h${seq}`.padEnd(64, '0');
    const row = { ...d, seq, prevHash: prev, hash };
    prev = hash;
    return row;
  });
};

function draft(overrides: Partial<AuditDraft> = {}): AuditDraft {
  return {
    id: uid('rec'),
    time: T0,
    kind: 'access',
    userId: null,
    deviceId: null,
    route: null,
    decision: null,
    body: '{}',
    ...overrides,
  };
}

export function registerStoreContract(backend: TestBackend): void {
  describe(`store contract: ${backend.name}`, () => {
    let db: TestDatabase;
    let store: Store;

    before(async () => {
      db = await backend.createDatabase();
      store = await db.open();
    });

    after(async () => {
      await store?.close();
      await db?.drop();
    });

    async function newUser(overrides: { email?: string; groups?: string[] } = {}) {
      const id = uid('u');
      return store.users.create({
        id,
        email: overrides.email ?? `${id}@example.com`,
        displayName: 'Test User',
        groups: overrides.groups ?? [],
        at: T0,
      });
    }

    describe('migrations', () => {
      test('the schema is at the latest version after open', async () => {
        assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
        assert.equal(
          Number(await db.scalar('SELECT count(*) FROM schema_migrations')),
          LATEST_SCHEMA_VERSION,
        );
      });

      test('several stores opening an empty database at once migrate it exactly once', async () => {
        const fresh = await backend.createDatabase();
        try {
          const stores = await Promise.all(Array.from({ length: 5 }, () => fresh.open()));
          try {
            for (const s of stores) assert.equal(await s.schemaVersion(), LATEST_SCHEMA_VERSION);
            assert.equal(
              Number(await fresh.scalar('SELECT count(*) FROM schema_migrations')),
              LATEST_SCHEMA_VERSION,
            );
            const [a, b] = stores;
            await a?.settings.set('k', 'v', T0);
            assert.equal(await b?.settings.get('k'), 'v');
          } finally {
            await Promise.all(stores.map((s) => s.close()));
          }
        } finally {
          await fresh.drop();
        }
      });

      test('a database migrated by a newer ztgate is refused with ZT_STORE_SCHEMA_TOO_NEW', async () => {
        const fresh = await backend.createDatabase();
        try {
          const s = await fresh.open();
          await s.close();
          await fresh.exec(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 0)",
          );
          await assert.rejects(fresh.open(), code('ZT_STORE_SCHEMA_TOO_NEW'));
        } finally {
          await fresh.drop();
        }
      });

      test('a migration changed after it was applied is refused with ZT_STORE_MIGRATION_FAILED', async () => {
        const fresh = await backend.createDatabase();
        try {
          const s = await fresh.open();
          await s.close();
          await fresh.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
          await assert.rejects(fresh.open(), code('ZT_STORE_MIGRATION_FAILED'));
        } finally {
          await fresh.drop();
        }
      });
    });

    describe('users', () => {
      test('create, get and get by email (case-insensitive)', async () => {
        const id = uid('u');
        const created = await store.users.create({
          id,
          email: `Alice.${id}@Example.COM`,
          displayName: 'Alice',
          groups: ['eng', 'admins', 'eng'],
          passwordHash: '$argon2id$v=19$x',
          at: T0,
        });
        assert.deepEqual(created, {
          id,
          email: `Alice.${id}@Example.COM`,
          displayName: 'Alice',
          groups: ['admins', 'eng'],
          disabled: false,
          passwordHash: '$argon2id$v=19$x',
          createdAt: T0,
          updatedAt: T0,
        });
        assert.deepEqual(await store.users.get(id), created);
        assert.deepEqual(await store.users.getByEmail(`alice.${id}@example.com`), created);
        assert.equal(await store.users.get('nobody'), undefined);
        assert.equal(await store.users.getByEmail('nobody@example.com'), undefined);
      });

      test('an email is unique case-insensitively and an id is unique', async () => {
        const u = await newUser();
        await assert.rejects(
          store.users.create({ id: uid('u'), email: u.email.toUpperCase(), at: T0 }),
          code('ZT_STORE_CONFLICT'),
        );
        await assert.rejects(
          store.users.create({ id: u.id, email: `${uid('x')}@example.com`, at: T0 }),
          code('ZT_STORE_CONFLICT'),
        );
      });

      test('update changes only the given fields; unknown users are ZT_STORE_NOT_FOUND', async () => {
        const u = await store.users.create({
          id: uid('u'),
          email: `${uid('e')}@example.com`,
          passwordHash: 'h1',
          at: T0,
        });
        const v = await store.users.update(u.id, {
          disabled: true,
          groups: ['b', 'a'],
          at: T0 + 5,
        });
        assert.deepEqual(v, { ...u, disabled: true, groups: ['a', 'b'], updatedAt: T0 + 5 });
        const w = await store.users.update(u.id, {
          passwordHash: null,
          displayName: 'New',
          at: T0 + 6,
        });
        assert.equal(w.passwordHash, null);
        assert.equal(w.displayName, 'New');
        assert.equal(w.disabled, true);
        await assert.rejects(
          store.users.update('missing', { disabled: true, at: T0 }),
          code('ZT_STORE_NOT_FOUND'),
        );
        const other = await newUser();
        await assert.rejects(
          store.users.update(u.id, { email: other.email.toUpperCase(), at: T0 }),
          code('ZT_STORE_CONFLICT'),
        );
      });

      test('list pages by email with a cursor; list by group', async () => {
        const group = uid('g');
        const made = await Promise.all([1, 2, 3, 4, 5].map(() => newUser({ groups: [group] })));
        const members = await store.users.listByGroup(group);
        assert.deepEqual(members.map((m) => m.id).sort(), made.map((m) => m.id).sort());
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 100; i++) {
          const p = await store.users.list(
            cursor === undefined ? { limit: 2 } : { limit: 2, cursor },
          );
          assert.ok(p.items.length <= 2);
          seen.push(...p.items.map((x) => x.email.toLowerCase()));
          if (p.nextCursor === null) break;
          cursor = p.nextCursor;
        }
        assert.deepEqual(seen, [...seen].sort());
        assert.equal(new Set(seen).size, seen.length);
        for (const m of made) assert.ok(seen.includes(m.email.toLowerCase()));
        await assert.rejects(store.users.list({ cursor: '!!' }), code('ZT_STORE_INVALID_RECORD'));
      });

      test('deleting a user deletes their sessions and devices', async () => {
        const u = await newUser();
        const d = await store.devices.create({
          id: uid('d'),
          userId: u.id,
          hostname: 'h',
          os: 'linux',
          enrolledAt: T0,
        });
        const idHash = hashSessionId(uid('raw'));
        await store.sessions.create({
          idHash,
          userId: u.id,
          deviceId: d.id,
          createdAt: T0,
          lastSeenAt: T0,
          expiresAt: T0 + 1000,
          idleExpiresAt: T0 + 500,
        });
        assert.equal(await store.users.delete(u.id), true);
        assert.equal(await store.users.delete(u.id), false);
        assert.equal(await store.sessions.get(idHash), undefined);
        assert.equal(await store.devices.get(d.id), undefined);
      });

      test('malformed input is ZT_STORE_INVALID_RECORD', async () => {
        await assert.rejects(
          store.users.create({ id: '', email: 'a@b.c', at: T0 }),
          code('ZT_STORE_INVALID_RECORD'),
        );
        await assert.rejects(
          store.users.create({ id: uid('u'), email: 'nope', at: T0 }),
          code('ZT_STORE_INVALID_RECORD'),
        );
        await assert.rejects(
          store.users.create({ id: 'a\0b', email: 'a@b.c', at: T0 }),
          code('ZT_STORE_INVALID_RECORD'),
        );
        await assert.rejects(
          store.users.create({ id: uid('u'), email: 'x@y.z', at: -1 }),
          code('ZT_STORE_INVALID_RECORD'),
        );
      });
    });

    describe('groups', () => {
      test('create, get, list, delete; names are unique', async () => {
        const name = uid('g');
        const g = await store.groups.create({ name, description: 'Engineering', at: T0 });
        assert.deepEqual(g, { name, description: 'Engineering', createdAt: T0 });
        assert.deepEqual(await store.groups.get(name), g);
        assert.ok((await store.groups.list()).some((x) => x.name === name));
        await assert.rejects(store.groups.create({ name, at: T0 }), code('ZT_STORE_CONFLICT'));
        assert.equal(await store.groups.delete(name), true);
        assert.equal(await store.groups.get(name), undefined);
      });
    });

    describe('sessions', () => {
      test('only the hash of the session id is stored', async () => {
        const u = await newUser();
        const raw = randomBytes(32).toString('base64url');
        const idHash = hashSessionId(raw);
        const s = await store.sessions.create({
          idHash,
          userId: u.id,
          createdAt: T0,
          lastSeenAt: T0,
          expiresAt: T0 + 8 * 3600_000,
          idleExpiresAt: T0 + 3600_000,
          mfaMethods: ['totp'],
          mfaAt: T0,
        });
        assert.deepEqual(s, {
          idHash,
          userId: u.id,
          deviceId: null,
          createdAt: T0,
          lastSeenAt: T0,
          expiresAt: T0 + 8 * 3600_000,
          idleExpiresAt: T0 + 3600_000,
          mfaMethods: ['totp'],
          mfaAt: T0,
          revokedAt: null,
        });
        assert.equal(await store.sessions.get(raw), undefined);
        assert.equal(
          Number(await db.scalar(`SELECT count(*) FROM sessions WHERE id_hash = '${raw}'`)),
          0,
        );
        assert.deepEqual(await store.sessions.get(idHash), s);
      });

      test('touch, MFA, revoke, revoke all, expiry', async () => {
        const u = await newUser();
        const mk = (n: number, expiresAt = T0 + 10_000, idle = T0 + 5_000) =>
          store.sessions.create({
            idHash: hashSessionId(uid(`s${n}`)),
            userId: u.id,
            createdAt: T0 + n,
            lastSeenAt: T0,
            expiresAt,
            idleExpiresAt: idle,
          });
        const a = await mk(1);
        const b = await mk(2);
        const c = await mk(3, T0 + 50, T0 + 40);
        assert.equal(await store.sessions.touch(a.idHash, T0 + 100, T0 + 6_000), true);
        const a2 = await store.sessions.recordMfa(a.idHash, ['webauthn', 'totp'], T0 + 101);
        assert.deepEqual(a2, {
          ...a,
          lastSeenAt: T0 + 100,
          idleExpiresAt: T0 + 6_000,
          mfaMethods: ['totp', 'webauthn'],
          mfaAt: T0 + 101,
        });
        await assert.rejects(
          store.sessions.recordMfa('missing', ['totp'], T0),
          code('ZT_STORE_NOT_FOUND'),
        );
        assert.equal(await store.sessions.revoke(a.idHash, T0 + 200), true);
        assert.equal(await store.sessions.revoke(a.idHash, T0 + 300), false);
        assert.equal((await store.sessions.get(a.idHash))?.revokedAt, T0 + 200);
        assert.equal(await store.sessions.touch(a.idHash, T0 + 400, T0 + 9_000), false);
        assert.equal(await store.sessions.revoke('missing', T0), false);
        assert.equal(await store.sessions.revokeAllForUser(u.id, T0 + 500), 2);
        assert.equal((await store.sessions.get(b.idHash))?.revokedAt, T0 + 500);
        const list = await store.sessions.listByUser(u.id);
        assert.deepEqual(
          list.map((s) => s.idHash),
          [a.idHash, b.idHash, c.idHash],
        );
        assert.ok((await store.sessions.deleteExpired(T0 + 60)) >= 1);
        assert.equal(await store.sessions.get(c.idHash), undefined);
        assert.ok(await store.sessions.get(a.idHash));
      });

      test('a session for an unknown user or device is ZT_STORE_NOT_FOUND; duplicates conflict', async () => {
        const base = { createdAt: T0, lastSeenAt: T0, expiresAt: T0 + 1, idleExpiresAt: T0 + 1 };
        await assert.rejects(
          store.sessions.create({ idHash: hashSessionId(uid('x')), userId: 'ghost', ...base }),
          code('ZT_STORE_NOT_FOUND'),
        );
        const u = await newUser();
        await assert.rejects(
          store.sessions.create({
            idHash: hashSessionId(uid('x')),
            userId: u.id,
            deviceId: 'ghost',
            ...base,
          }),
          code('ZT_STORE_NOT_FOUND'),
        );
        const idHash = hashSessionId(uid('x'));
        await store.sessions.create({ idHash, userId: u.id, ...base });
        await assert.rejects(
          store.sessions.create({ idHash, userId: u.id, ...base }),
          code('ZT_STORE_CONFLICT'),
        );
      });

      test('deleting a device keeps its sessions without the device', async () => {
        const u = await newUser();
        const d = await store.devices.create({
          id: uid('d'),
          userId: u.id,
          hostname: 'h',
          os: 'macos',
          enrolledAt: T0,
        });
        const idHash = hashSessionId(uid('x'));
        await store.sessions.create({
          idHash,
          userId: u.id,
          deviceId: d.id,
          createdAt: T0,
          lastSeenAt: T0,
          expiresAt: T0 + 1,
          idleExpiresAt: T0 + 1,
        });
        assert.equal(await store.devices.delete(d.id), true);
        assert.equal((await store.sessions.get(idHash))?.deviceId, null);
      });
    });

    describe('devices', () => {
      test('create, posture reports, state, certificate, lookups', async () => {
        const u = await newUser();
        const id = uid('d');
        const d = await store.devices.create({
          id,
          userId: u.id,
          hostname: 'laptop-1',
          os: 'linux',
          enrolledAt: T0,
        });
        assert.deepEqual(d, {
          id,
          userId: u.id,
          hostname: 'laptop-1',
          os: 'linux',
          enrolledAt: T0,
          lastReportAt: null,
          certificateSerial: null,
          state: 'pending',
          posture: {},
          updatedAt: T0,
        });
        const posture = {
          disk_encrypted: true,
          os_patch_age_days: 3,
          nested: { list: [1, 'two', null] },
          name: 'é ✓',
        };
        const p = await store.devices.reportPosture(id, posture, T0 + 10);
        assert.deepEqual(p.posture, posture);
        assert.equal(p.lastReportAt, T0 + 10);
        const s = await store.devices.setState(id, 'active', T0 + 20);
        assert.equal(s.state, 'active');
        const serial = randomBytes(8).toString('hex');
        const c = await store.devices.setCertificate(id, serial.toUpperCase(), T0 + 30);
        assert.equal(c.certificateSerial, serial);
        assert.deepEqual(await store.devices.getByCertificateSerial(serial), c);
        assert.deepEqual(await store.devices.get(id), c);
        assert.deepEqual(
          (await store.devices.listByUser(u.id)).map((x) => x.id),
          [id],
        );
        await assert.rejects(
          store.devices.setState('ghost', 'revoked', T0),
          code('ZT_STORE_NOT_FOUND'),
        );
        await assert.rejects(
          store.devices.setState(id, 'bogus' as 'active', T0),
          code('ZT_STORE_INVALID_RECORD'),
        );
        await assert.rejects(
          store.devices.reportPosture(id, [] as unknown as Record<string, never>, T0),
          code('ZT_STORE_INVALID_RECORD'),
        );
        await assert.rejects(
          store.devices.create({ id, userId: u.id, hostname: 'h', os: 'o', enrolledAt: T0 }),
          code('ZT_STORE_CONFLICT'),
        );
        await assert.rejects(
          store.devices.create({
            id: uid('d'),
            userId: 'ghost',
            hostname: 'h',
            os: 'o',
            enrolledAt: T0,
          }),
          code('ZT_STORE_NOT_FOUND'),
        );
      });

      test('list pages by id', async () => {
        const u = await newUser();
        for (let i = 0; i < 3; i++) {
          await store.devices.create({
            id: uid('dl'),
            userId: u.id,
            hostname: 'h',
            os: 'o',
            enrolledAt: T0,
          });
        }
        const first = await store.devices.list({ limit: 2 });
        assert.equal(first.items.length, 2);
        assert.notEqual(first.nextCursor, null);
        const second = await store.devices.list({ limit: 1000, cursor: first.nextCursor ?? '' });
        const all = [...first.items, ...second.items].map((d) => d.id);
        assert.deepEqual(all, [...all].sort());
        assert.equal(new Set(all).size, all.length);
      });
    });

    describe('certificates', () => {
      test('create, get, list with filters, revoke keeps the first revocation', async () => {
        const serial = randomBytes(10).toString('hex');
        const c = await store.certificates.create({
          serial: serial.toUpperCase(),
          subject: 'CN=laptop-1',
          kind: 'device',
          notBefore: T0,
          notAfter: T0 + 86_400_000,
        });
        assert.deepEqual(c, {
          serial,
          subject: 'CN=laptop-1',
          kind: 'device',
          notBefore: T0,
          notAfter: T0 + 86_400_000,
          revokedAt: null,
          revocationReason: null,
        });
        assert.deepEqual(await store.certificates.get(serial.toUpperCase()), c);
        await assert.rejects(store.certificates.create({ ...c }), code('ZT_STORE_CONFLICT'));
        await assert.rejects(
          store.certificates.create({ ...c, serial: 'zz' }),
          code('ZT_STORE_INVALID_RECORD'),
        );
        const r = await store.certificates.revoke(serial, T0 + 5, 'keyCompromise');
        assert.equal(r.revokedAt, T0 + 5);
        const r2 = await store.certificates.revoke(serial, T0 + 9, 'superseded');
        assert.deepEqual(r2, r);
        assert.ok(
          (await store.certificates.list({ revoked: true })).some((x) => x.serial === serial),
        );
        assert.ok(
          !(await store.certificates.list({ revoked: false })).some((x) => x.serial === serial),
        );
        assert.ok(
          (await store.certificates.list({ kind: 'device' })).some((x) => x.serial === serial),
        );
        assert.ok(
          !(await store.certificates.list({ kind: 'server' })).some((x) => x.serial === serial),
        );
        await assert.rejects(
          store.certificates.revoke('abcdef', T0, 'x'),
          code('ZT_STORE_NOT_FOUND'),
        );
      });
    });

    describe('config versions', () => {
      test('versions are sequential; expectedLatest guards concurrent edits; concurrent appends leave no gaps', async () => {
        const fresh = await backend.createDatabase();
        const s = await fresh.open();
        try {
          assert.equal(await s.configVersions.latest(), undefined);
          const v1 = await s.configVersions.append({
            content: 'routes: []\n',
            author: 'alice',
            at: T0,
            expectedLatest: 0,
          });
          assert.equal(v1.version, 1);
          assert.equal(v1.checksum, createHash('sha256').update('routes: []\n').digest('hex'));
          await assert.rejects(
            s.configVersions.append({ content: 'x', author: 'bob', at: T0, expectedLatest: 0 }),
            code('ZT_STORE_CONFLICT'),
          );
          const many = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              s.configVersions.append({ content: `v${i}`, author: 'carol', at: T0 + i }),
            ),
          );
          assert.deepEqual(
            many.map((m) => m.version).sort((a, b) => a - b),
            [2, 3, 4, 5, 6, 7, 8, 9],
          );
          assert.equal((await s.configVersions.latest())?.version, 9);
          assert.deepEqual(await s.configVersions.get(1), v1);
          assert.deepEqual(
            (await s.configVersions.list(3)).map((v) => v.version),
            [9, 8, 7],
          );
        } finally {
          await s.close();
          await fresh.drop();
        }
      });
    });

    describe('settings', () => {
      test('get, set, set if absent, delete, list by prefix', async () => {
        const p = uid('cfg');
        assert.equal(await store.settings.get(`${p}.a`), undefined);
        await store.settings.set(`${p}.a`, '1', T0);
        await store.settings.set(`${p}.a`, '2', T0);
        assert.equal(await store.settings.get(`${p}.a`), '2');
        assert.equal(await store.settings.setIfAbsent(`${p}.a`, '3', T0), false);
        assert.equal(await store.settings.setIfAbsent(`${p}.b`, '{"x":1}', T0), true);
        assert.deepEqual(
          [...(await store.settings.list(`${p}.`))],
          [
            [`${p}.a`, '2'],
            [`${p}.b`, '{"x":1}'],
          ],
        );
        assert.equal(await store.settings.delete(`${p}.a`), true);
        assert.equal(await store.settings.delete(`${p}.a`), false);
      });
    });

    describe('audit storage', () => {
      test('batches are chained under the head, idempotent on retry, queryable', async () => {
        const fresh = await backend.createDatabase();
        const s = await fresh.open();
        try {
          assert.deepEqual(await s.audit.head(), { seq: 0, hash: GENESIS_HASH });
          assert.equal(await s.audit.bounds(), null);
          const batch = [
            draft({ time: T0, userId: 'alice', decision: 'allow', route: 'app', kind: 'access' }),
            draft({ time: T0 + 1, userId: 'bob', decision: 'deny', route: 'app', deviceId: 'd1' }),
            draft({ time: T0 + 2, kind: 'login', userId: 'alice' }),
          ];
          const rows = await s.audit.appendBatch(batch, testLinker);
          assert.deepEqual(
            rows.map((r) => r.seq),
            [1, 2, 3],
          );
          assert.equal(rows[0]?.prevHash, GENESIS_HASH);
          const again = await s.audit.appendBatch(batch, testLinker);
          assert.deepEqual(again, rows);
          assert.deepEqual(await s.audit.head(), { seq: 3, hash: rows[2]?.hash });
          const more = await s.audit.appendBatch(
            [draft({ time: T0 + 3, userId: 'alice' })],
            testLinker,
          );
          assert.equal(more[0]?.seq, 4);
          assert.equal(more[0]?.prevHash, rows[2]?.hash);
          assert.deepEqual(await s.audit.bounds(), { first: 1, last: 4 });
          assert.deepEqual(
            (await s.audit.range(2, 2)).map((r) => r.seq),
            [2, 3],
          );
          const seqs = async (f: Parameters<Store['audit']['query']>[0]) =>
            (await s.audit.query(f)).map((r) => r.seq);
          assert.deepEqual(await seqs({ userId: 'alice' }), [1, 3, 4]);
          assert.deepEqual(await seqs({ decision: 'deny' }), [2]);
          assert.deepEqual(await seqs({ deviceId: 'd1' }), [2]);
          assert.deepEqual(await seqs({ route: 'app', order: 'desc' }), [2, 1]);
          assert.deepEqual(await seqs({ kind: 'login' }), [3]);
          assert.deepEqual(await seqs({ since: T0 + 1, until: T0 + 3 }), [2, 3]);
          assert.deepEqual(await seqs({ afterSeq: 1, limit: 2 }), [2, 3]);
          assert.deepEqual(await seqs({ beforeSeq: 4, order: 'desc', limit: 1 }), [3]);
          assert.deepEqual(rows[1], {
            ...batch[1],
            seq: 2,
            prevHash: rows[0]?.hash,
            hash: rows[1]?.hash,
          });
        } finally {
          await s.close();
          await fresh.drop();
        }
      });

      test('checkpoints, the retention cut-off and pruning with an anchor', async () => {
        const fresh = await backend.createDatabase();
        const s = await fresh.open();
        try {
          await s.audit.appendBatch(
            Array.from({ length: 10 }, (_, i) => draft({ time: T0 + i * 1000 })),
            testLinker,
          );
          const cp = {
            seq: 5,
            hash: 'h5'.padEnd(64, '0'),
            time: T0,
            kind: 'periodic',
            keyId: 'k',
            signature: 'sig',
          };
          const stored = await s.audit.addCheckpoint(cp);
          assert.deepEqual(stored, { ...cp, id: stored.id });
          assert.equal(await s.audit.lastSeqBefore(T0 + 3500), 4);
          assert.equal(await s.audit.lastSeqBefore(T0), 0);
          assert.equal(await s.audit.lastSeqBefore(T0 + 1e9), 10);
          const deleted = await s.audit.prune({
            ...cp,
            seq: 6,
            hash: 'h6'.padEnd(64, '0'),
            kind: 'anchor',
          });
          assert.equal(deleted, 6);
          assert.deepEqual(await s.audit.bounds(), { first: 7, last: 10 });
          assert.deepEqual(
            (await s.audit.checkpoints()).map((c) => [c.seq, c.kind]),
            [[6, 'anchor']],
          );
          const next = await s.audit.appendBatch([draft()], testLinker);
          assert.equal(next[0]?.seq, 11);
        } finally {
          await s.close();
          await fresh.drop();
        }
      });
    });

    describe('fail closed', () => {
      test('a store whose database goes away is unhealthy and recovers by itself when it returns', async () => {
        const fresh = await backend.createDatabase();
        const s = await fresh.open();
        try {
          await s.settings.set('before', 'outage', T0);
          assert.equal(await s.ping(), true);
          await fresh.breakConnection();
          try {
            assert.equal(
              await eventually(async () => !(await s.ping()), 5000),
              true,
              'ping() must turn false',
            );
            await assert.rejects(s.settings.get('before'), code('ZT_STORE_UNAVAILABLE'));
            await assert.rejects(s.users.get('x'), code('ZT_STORE_UNAVAILABLE'));
          } finally {
            await fresh.restoreConnection();
          }
          assert.equal(await eventually(() => s.ping(), 5000), true, 'ping() must recover');
          assert.equal(await s.settings.get('before'), 'outage');
          await s.settings.set('after', 'ok', T0);
          assert.equal(await s.settings.get('after'), 'ok');
        } finally {
          await s.close();
          await fresh.drop();
        }
      });

      test('a closed store refuses calls with ZT_STORE_CLOSED', async () => {
        const s = await db.open();
        await s.close();
        assert.equal(await s.ping(), false);
        await assert.rejects(s.settings.get('x'), code('ZT_STORE_CLOSED'));
        await s.close();
      });
    });
  });
}
