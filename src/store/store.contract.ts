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
  type DeviceRecord,
  type EnrollmentCodeRecord,
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
    /** a second store on the same database: another connection (SQLite) or pool (PostgreSQL) */
    let other: Store;

    before(async () => {
      db = await backend.createDatabase();
      store = await db.open();
      other = await db.open();
    });

    after(async () => {
      await other?.close();
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

      test('a database at schema 1 is upgraded keeping its rows; what was not recorded reads as null', async () => {
        const fresh = await backend.createDatabase();
        try {
          await fresh.migrateTo(1);
          await fresh.exec(`
            INSERT INTO users (id, email, email_key, display_name, groups_json, disabled, password_hash, created_at, updated_at)
              VALUES ('u1', 'a@example.com', 'a@example.com', 'A', '[]', FALSE, NULL, ${T0}, ${T0});
            INSERT INTO devices (id, user_id, hostname, os, enrolled_at, last_report_at, certificate_serial, state, posture_json, updated_at)
              VALUES ('d1', 'u1', 'Laptop-1', 'linux', ${T0}, NULL, '0a', 'active', '{"a":1}', ${T0});
            INSERT INTO certificates (serial, subject, kind, not_before, not_after, revoked_at, revocation_reason)
              VALUES ('0a', 'urn:ztgate:device:d1', 'device', ${T0}, ${T0 + 1000}, NULL, NULL);`);
          const s = await fresh.open();
          try {
            assert.equal(await s.schemaVersion(), LATEST_SCHEMA_VERSION);
            const d = await s.devices.get('d1');
            assert.equal(d?.version, 1);
            assert.equal(d?.certificateFingerprint, null);
            assert.equal(d?.previousCertificateSerial, null);
            assert.deepEqual(
              (await s.devices.listByHostname('laptop-1')).map((x) => x.id),
              ['d1'],
            );
            const moved = await s.devices.updatePosture('d1', 1, { a: 2 }, T0 + 1, {
              touchReport: true,
            });
            assert.equal(moved.version, 2);
            const c = await s.certificates.get('0a');
            assert.equal(c?.der, null);
            assert.equal(c?.names, null);
            assert.equal(c?.issuerSerial, null);
            assert.equal(
              (await s.certificates.list({ subject: 'urn:ztgate:device:d1' })).length,
              1,
            );
          } finally {
            await s.close();
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
          certificateFingerprint: null,
          previousCertificateSerial: null,
          state: 'pending',
          posture: {},
          updatedAt: T0,
          version: 1,
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
        const c = await store.devices.setCertificate(
          id,
          { serial: serial.toUpperCase(), fingerprint: null },
          T0 + 30,
        );
        assert.equal(c.certificateSerial, serial);
        assert.equal(c.version, 4, 'every change moves the version on');
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

    describe('devices: certificates, host names, compare-and-set', () => {
      const hex = (bytes: number) => randomBytes(bytes).toString('hex');
      const colons = (h: string) => h.toUpperCase().replace(/(..)(?!$)/g, '$1:');

      async function newDevice(
        userId: string,
        overrides: Partial<Parameters<Store['devices']['create']>[0]> = {},
      ) {
        return store.devices.create({
          id: uid('d'),
          userId,
          hostname: 'h',
          os: 'linux',
          enrolledAt: T0,
          ...overrides,
        });
      }

      test('the fingerprint finds the device; a renewal keeps the previous serial; the serial is compare-and-set', async () => {
        const u = await newUser();
        const [s1, s2, s3] = [hex(8), hex(8), hex(8)];
        const [f1, f2] = [hex(32), hex(32)];
        const d = await newDevice(u.id, {
          certificateSerial: s1.toUpperCase(),
          certificateFingerprint: colons(f1),
          state: 'active',
        });
        assert.equal(d.certificateSerial, s1);
        assert.equal(d.certificateFingerprint, f1);
        assert.deepEqual(await store.devices.getByCertificateFingerprint(colons(f1)), d);
        assert.equal(await store.devices.getByCertificateFingerprint(hex(32)), undefined);
        assert.equal(await store.devices.getByCertificateFingerprint('not hex'), undefined);

        const renewed = await store.devices.setCertificate(
          d.id,
          { serial: s2, fingerprint: f2 },
          T0 + 1,
          { expectedSerial: s1.toUpperCase() },
        );
        assert.deepEqual(renewed, {
          ...d,
          certificateSerial: s2,
          certificateFingerprint: f2,
          previousCertificateSerial: s1,
          updatedAt: T0 + 1,
          version: d.version + 1,
        });
        assert.equal(await store.devices.getByCertificateFingerprint(f1), undefined);
        assert.equal(await store.devices.getByCertificateSerial(s1), undefined, 'current only');
        assert.deepEqual(await store.devices.getByCertificateSerial(s2), renewed);

        // a second renewal with the same (now superseded) proof loses
        await assert.rejects(
          store.devices.setCertificate(d.id, { serial: s3, fingerprint: null }, T0 + 2, {
            expectedSerial: s1,
          }),
          code('ZT_STORE_CONFLICT'),
        );
        assert.deepEqual(await store.devices.get(d.id), renewed);
        await assert.rejects(
          store.devices.setCertificate('ghost', { serial: s3, fingerprint: null }, T0, {
            expectedSerial: s1,
          }),
          code('ZT_STORE_NOT_FOUND'),
        );
        // setting the same certificate again keeps the previous one; removing it moves it there
        const same = await store.devices.setCertificate(
          d.id,
          { serial: s2, fingerprint: f2 },
          T0 + 3,
        );
        assert.equal(same.previousCertificateSerial, s1);
        const none = await store.devices.setCertificate(d.id, null, T0 + 4);
        assert.equal(none.certificateSerial, null);
        assert.equal(none.certificateFingerprint, null);
        assert.equal(none.previousCertificateSerial, s2);
        // enrollment: "no certificate yet" as the expectation
        const first = await store.devices.setCertificate(
          d.id,
          { serial: s3, fingerprint: f1 },
          T0 + 5,
          { expectedSerial: null },
        );
        assert.equal(first.certificateSerial, s3);
        await assert.rejects(
          store.devices.setCertificate(d.id, { serial: s1, fingerprint: null }, T0 + 6, {
            expectedSerial: null,
          }),
          code('ZT_STORE_CONFLICT'),
        );

        // a fingerprint belongs to one device
        await assert.rejects(
          newDevice(u.id, { certificateSerial: hex(8), certificateFingerprint: f1 }),
          code('ZT_STORE_CONFLICT'),
        );
        const other = await newDevice(u.id);
        await assert.rejects(
          store.devices.setCertificate(other.id, { serial: hex(8), fingerprint: f1 }, T0),
          code('ZT_STORE_CONFLICT'),
        );
        await assert.rejects(
          store.devices.setCertificate(other.id, { serial: hex(8), fingerprint: 'abc' }, T0),
          code('ZT_STORE_INVALID_RECORD'),
        );
      });

      test('list by host name ignores ASCII case, filters by state, is ordered by id and bounded', async () => {
        const u = await newUser();
        const host = `Host-${hex(5)}.Example.COM`;
        const a = await newDevice(u.id, { hostname: host, state: 'active' });
        const b = await newDevice(u.id, { hostname: host.toUpperCase(), state: 'active' });
        const c = await newDevice(u.id, { hostname: host.toLowerCase() });
        await newDevice(u.id, { hostname: `${host}x`, state: 'active' });
        const ids = (l: readonly { id: string }[]) => l.map((x) => x.id);
        assert.deepEqual(
          ids(await store.devices.listByHostname(host.toLowerCase())),
          [a.id, b.id, c.id].sort(),
        );
        assert.deepEqual(
          ids(await store.devices.listByHostname(host, { state: 'active' })),
          [a.id, b.id].sort(),
        );
        assert.equal((await store.devices.listByHostname(host, { limit: 1 })).length, 1);
        assert.deepEqual(await store.devices.listByHostname(`nope-${hex(4)}`), []);
        await assert.rejects(
          store.devices.listByHostname(host, { limit: 0 }),
          code('ZT_STORE_INVALID_RECORD'),
        );
      });

      test('updatePosture writes only at the expected version; touchReport sets the last report time', async () => {
        const u = await newUser();
        const d = await newDevice(u.id);
        assert.equal(d.version, 1);
        const a = await store.devices.updatePosture(d.id, 1, { signal: true }, T0 + 1, {
          touchReport: false,
        });
        assert.deepEqual(a, { ...d, posture: { signal: true }, updatedAt: T0 + 1, version: 2 });
        const b = await store.devices.updatePosture(d.id, 2, { agent: 1 }, T0 + 2, {
          touchReport: true,
        });
        assert.equal(b.lastReportAt, T0 + 2);
        assert.equal(b.version, 3);
        await assert.rejects(
          store.devices.updatePosture(d.id, 2, { stale: true }, T0 + 3, { touchReport: true }),
          code('ZT_STORE_CONFLICT'),
        );
        assert.deepEqual(await store.devices.get(d.id), b);
        // any change moves the version on: a revocation makes a posture write computed before it lose
        const revoked = await store.devices.setState(d.id, 'revoked', T0 + 4);
        assert.equal(revoked.version, 4);
        await assert.rejects(
          store.devices.updatePosture(d.id, 3, { late: true }, T0 + 5, { touchReport: true }),
          code('ZT_STORE_CONFLICT'),
        );
        const reported = await store.devices.reportPosture(d.id, { x: 1 }, T0 + 6);
        assert.equal(reported.version, 5);
        await assert.rejects(
          store.devices.updatePosture('ghost', 1, {}, T0, { touchReport: false }),
          code('ZT_STORE_NOT_FOUND'),
        );
        await assert.rejects(
          store.devices.updatePosture(d.id, 0, {}, T0, { touchReport: false }),
          code('ZT_STORE_INVALID_RECORD'),
        );
      });

      test('concurrent compare-and-set from two stores: exactly one wins; a retry loop loses no update', async () => {
        const u = await newUser();
        const d = await newDevice(u.id, { posture: { n: 0 } });
        let version = d.version;
        for (let round = 0; round < 3; round++) {
          const tries = [store, other].map((s, i) =>
            s.devices.updatePosture(d.id, version, { winner: i }, T0 + round, {
              touchReport: true,
            }),
          );
          const results = await Promise.allSettled(tries);
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r) => r.status === 'rejected');
          assert.equal(won.length, 1, `round ${round}: exactly one wins`);
          assert.equal(lost.length, 1);
          code('ZT_STORE_CONFLICT')((lost[0] as PromiseRejectedResult).reason);
          const winner = (won[0] as PromiseFulfilledResult<DeviceRecord>).value;
          assert.deepEqual(await store.devices.get(d.id), winner);
          version = winner.version;
        }
        // read-modify-write with retries, 12 writers over two stores: every increment survives
        const increment = async (s: Store) => {
          for (;;) {
            const current = await s.devices.get(d.id);
            assert.ok(current);
            const n = typeof current.posture.n === 'number' ? current.posture.n : 0;
            try {
              return await s.devices.updatePosture(d.id, current.version, { n: n + 1 }, T0, {
                touchReport: false,
              });
            } catch (err) {
              if ((err as { code?: unknown }).code !== 'ZT_STORE_CONFLICT') throw err;
            }
          }
        };
        await store.devices.updatePosture(d.id, version, { n: 0 }, T0, { touchReport: false });
        await Promise.all(Array.from({ length: 12 }, (_, i) => increment(i % 2 ? store : other)));
        assert.equal((await store.devices.get(d.id))?.posture.n, 12);
      });

      test('concurrent renewals with one proof from two stores: exactly one replaces the certificate', async () => {
        const u = await newUser();
        const proof = hex(8);
        const d = await newDevice(u.id, { certificateSerial: proof, state: 'active' });
        const next = [hex(8), hex(8)];
        const results = await Promise.allSettled(
          [store, other].map((s, i) =>
            s.devices.setCertificate(
              d.id,
              { serial: next[i] ?? '', fingerprint: hex(32) },
              T0 + 1,
              { expectedSerial: proof },
            ),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        assert.equal(won.length, 1);
        const rejected = results.find((r) => r.status === 'rejected');
        code('ZT_STORE_CONFLICT')(rejected?.reason);
        const record = await store.devices.get(d.id);
        assert.equal(record?.previousCertificateSerial, proof);
        assert.equal(
          record?.certificateSerial,
          (won[0] as PromiseFulfilledResult<DeviceRecord>).value.certificateSerial,
        );
      });
    });

    describe('posture history', () => {
      async function device() {
        const u = await newUser();
        return store.devices.create({
          id: uid('d'),
          userId: u.id,
          hostname: 'h',
          os: 'linux',
          enrolledAt: T0,
        });
      }

      test('append keeps the newest entries of each device; list is newest first', async () => {
        const d = await device();
        const o = await device();
        for (let i = 0; i < 6; i++) {
          await store.devices.history.append(
            {
              deviceId: d.id,
              at: T0 + i,
              source: i % 2 ? 'agent' : 'intune',
              seq: i % 2 ? 1_700_000_000_000 + i : null,
              attributes: { n: i, firewall: i > 2, os: 'linux' },
              unavailable: i % 2 ? { screen_lock: 'no session' } : null,
              tier: i === 0 ? null : 'high',
              changes: ['tier', 'posture.n'],
            },
            3,
          );
        }
        await store.devices.history.append(
          {
            deviceId: o.id,
            at: T0,
            source: 'agent',
            seq: 1,
            attributes: {},
            unavailable: null,
            tier: null,
            changes: [],
          },
          3,
        );
        const list = await store.devices.history.list(d.id);
        assert.deepEqual(
          list.map((e) => e.at),
          [T0 + 5, T0 + 4, T0 + 3],
        );
        assert.deepEqual(list[0], {
          deviceId: d.id,
          at: T0 + 5,
          source: 'agent',
          seq: 1_700_000_000_005,
          attributes: { n: 5, firewall: true, os: 'linux' },
          unavailable: { screen_lock: 'no session' },
          tier: 'high',
          changes: ['tier', 'posture.n'],
        });
        assert.equal(list[1]?.seq, null);
        assert.equal(list[1]?.unavailable, null);
        assert.deepEqual(
          (await store.devices.history.list(d.id, 1)).map((e) => e.at),
          [T0 + 5],
        );
        assert.equal((await store.devices.history.list(o.id)).length, 1, 'per device');
        // same time: the later append is the newer
        const entry = {
          deviceId: o.id,
          at: T0 + 9,
          seq: null,
          attributes: {},
          unavailable: null,
          tier: null,
          changes: [],
        };
        await store.devices.history.append({ ...entry, source: 'first' }, 2);
        await store.devices.history.append({ ...entry, source: 'second' }, 2);
        assert.deepEqual(
          (await store.devices.history.list(o.id)).map((e) => e.source),
          ['second', 'first'],
        );
        await assert.rejects(
          store.devices.history.append({ ...entry, deviceId: 'ghost', source: 'x' }, 2),
          code('ZT_STORE_NOT_FOUND'),
        );
        await assert.rejects(
          store.devices.history.append({ ...entry, source: 'x' }, 0),
          code('ZT_STORE_INVALID_RECORD'),
        );
        assert.equal(await store.devices.history.deleteDevice(d.id), 3);
        assert.deepEqual(await store.devices.history.list(d.id), []);
        await store.devices.delete(o.id);
        assert.deepEqual(await store.devices.history.list(o.id), [], 'deleted with the device');
      });

      test('concurrent appends from two stores keep exactly `keep`', async () => {
        const d = await device();
        await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            (i % 2 ? store : other).devices.history.append(
              {
                deviceId: d.id,
                at: T0 + i,
                source: 'agent',
                seq: i,
                attributes: {},
                unavailable: null,
                tier: null,
                changes: [],
              },
              4,
            ),
          ),
        );
        assert.equal((await store.devices.history.list(d.id, 1000)).length, 4);
      });
    });

    describe('enrollment codes', () => {
      const codeRecord = (userId: string, overrides: Partial<EnrollmentCodeRecord> = {}) => ({
        codeHash: createHash('sha256').update(uid('code')).digest('hex'),
        userId,
        email: null,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        usedAt: null,
        ...overrides,
      });

      test('put, get, consume once before expiry, delete expired; a user takes their codes along', async () => {
        const u = await newUser();
        const c = codeRecord(u.id, { email: u.email });
        await store.enrollmentCodes.put(c);
        assert.deepEqual(await store.enrollmentCodes.get(c.codeHash), c);
        assert.equal(await store.enrollmentCodes.get('0'.repeat(64)), undefined);
        await assert.rejects(store.enrollmentCodes.put(c), code('ZT_STORE_CONFLICT'));
        await assert.rejects(
          store.enrollmentCodes.put(codeRecord('ghost')),
          code('ZT_STORE_NOT_FOUND'),
        );
        const used = await store.enrollmentCodes.consume(c.codeHash, T0 + 10);
        assert.deepEqual(used, { ...c, usedAt: T0 + 10 });
        assert.equal(await store.enrollmentCodes.consume(c.codeHash, T0 + 11), undefined, 'once');
        assert.deepEqual(await store.enrollmentCodes.get(c.codeHash), used);
        assert.equal(await store.enrollmentCodes.consume('0'.repeat(64), T0), undefined);

        const e = codeRecord(u.id, { expiresAt: T0 + 100 });
        await store.enrollmentCodes.put(e);
        assert.equal(await store.enrollmentCodes.consume(e.codeHash, T0 + 100), undefined);
        assert.equal((await store.enrollmentCodes.get(e.codeHash))?.usedAt, null);

        const gone = codeRecord(u.id, { expiresAt: T0 - 1 });
        await store.enrollmentCodes.put(gone);
        assert.ok((await store.enrollmentCodes.deleteExpired(T0 + 100)) >= 2);
        assert.equal(await store.enrollmentCodes.get(e.codeHash), undefined);
        assert.equal(await store.enrollmentCodes.get(gone.codeHash), undefined);
        assert.ok(await store.enrollmentCodes.get(c.codeHash), 'a used, unexpired code stays');

        await store.users.delete(u.id);
        assert.equal(await store.enrollmentCodes.get(c.codeHash), undefined);
      });

      test('concurrent consume from two stores: exactly one gets the code', async () => {
        const u = await newUser();
        for (let round = 0; round < 3; round++) {
          const c = codeRecord(u.id);
          await store.enrollmentCodes.put(c);
          const got = await Promise.all(
            Array.from({ length: 4 }, (_, i) =>
              (i % 2 ? store : other).enrollmentCodes.consume(c.codeHash, T0 + i),
            ),
          );
          assert.equal(got.filter((g) => g !== undefined).length, 1, `round ${round}`);
        }
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
          der: null,
          names: null,
          issuerSerial: null,
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

      test('keeps the DER, names and issuer; lists by subject and unexpired, in pages', async () => {
        const subject = `spiffe://example.org/${uid('w')}`;
        const der = randomBytes(300);
        const serials = Array.from({ length: 5 }, () => randomBytes(8).toString('hex')).sort();
        for (const [i, serial] of serials.entries()) {
          await store.certificates.create({
            serial,
            subject,
            kind: 'workload',
            notBefore: T0,
            notAfter: T0 + (i + 1) * 1000,
            der,
            names: [subject, subject, 'dns.example'],
            issuerSerial: 'ABCD',
          });
        }
        const first = await store.certificates.get(serials[0] ?? '');
        assert.deepEqual(first, {
          serial: serials[0],
          subject,
          kind: 'workload',
          notBefore: T0,
          notAfter: T0 + 1000,
          revokedAt: null,
          revocationReason: null,
          der,
          names: [subject, 'dns.example'],
          issuerSerial: 'abcd',
        });
        const all = await store.certificates.list({ subject });
        assert.deepEqual(
          all.map((c) => c.serial),
          serials,
        );
        assert.equal(all.nextCursor, null);
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await store.certificates.list({
            subject,
            notExpiredAt: T0 + 2500,
            limit: 2,
            ...(cursor !== undefined ? { cursor } : {}),
          });
          assert.ok(page.length <= 2);
          seen.push(...page.map((c) => c.serial));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        assert.deepEqual(seen, serials.slice(2));
        await store.certificates.revoke(serials[0] ?? '', T0, 'superseded');
        await store.certificates.revoke(serials[4] ?? '', T0, 'keyCompromise');
        assert.deepEqual(
          (await store.certificates.list({ subject, revoked: true, notExpiredAt: T0 + 2500 })).map(
            (c) => c.serial,
          ),
          [serials[4]],
        );
        assert.deepEqual(await store.certificates.list({ subject: `${subject}/none` }), []);
        await assert.rejects(
          store.certificates.list({ subject, limit: 0 }),
          code('ZT_STORE_INVALID_RECORD'),
        );
        await assert.rejects(
          store.certificates.list({ cursor: '!!' }),
          code('ZT_STORE_INVALID_RECORD'),
        );
        await assert.rejects(
          store.certificates.create({
            serial: randomBytes(8).toString('hex'),
            subject,
            kind: 'server',
            notBefore: T0,
            notAfter: T0,
            der: Buffer.alloc(65 * 1024),
          }),
          code('ZT_STORE_INVALID_RECORD'),
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
