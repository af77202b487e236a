/**
 * Versioned schema migrations for both backends. A migration is never edited once released: its
 * checksum is recorded in `schema_migrations` and a changed one stops the store from opening
 * (`ZT_STORE_MIGRATION_FAILED`). Add a new version instead.
 *
 * Types: times are BIGINT milliseconds since the epoch in both backends; JSON is TEXT in SQLite and
 * JSONB in PostgreSQL (the backends convert); booleans are INTEGER 0/1 in SQLite.
 */
import { createHash } from 'node:crypto';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: string;
  readonly postgres: string;
}

const v1Sqlite = `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  email_key TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  groups_json TEXT NOT NULL,
  disabled INTEGER NOT NULL,
  password_hash TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE groups (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hostname TEXT NOT NULL,
  os TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  last_report_at INTEGER,
  certificate_serial TEXT,
  state TEXT NOT NULL,
  posture_json TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_user ON devices(user_id);
CREATE INDEX devices_serial ON devices(certificate_serial);

CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device_id TEXT REFERENCES devices(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  mfa_methods_json TEXT NOT NULL,
  mfa_at INTEGER,
  revoked_at INTEGER
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_device ON sessions(device_id);

CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  kind TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  revoked_at INTEGER,
  revocation_reason TEXT
) STRICT;

CREATE TABLE config_versions (
  version INTEGER PRIMARY KEY,
  content TEXT NOT NULL,
  checksum TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_records (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  user_id TEXT,
  device_id TEXT,
  route TEXT,
  decision TEXT,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX audit_records_time ON audit_records(time);
CREATE INDEX audit_records_user ON audit_records(user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX audit_records_device ON audit_records(device_id, seq) WHERE device_id IS NOT NULL;

CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');

CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
) STRICT;
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq);
`;

const v1Postgres = `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  email_key TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  groups_json JSONB NOT NULL,
  disabled BOOLEAN NOT NULL,
  password_hash TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX users_groups ON users USING GIN (groups_json);

CREATE TABLE groups (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hostname TEXT NOT NULL,
  os TEXT NOT NULL,
  enrolled_at BIGINT NOT NULL,
  last_report_at BIGINT,
  certificate_serial TEXT,
  state TEXT NOT NULL,
  posture_json JSONB NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices(user_id);
CREATE INDEX devices_serial ON devices(certificate_serial);

CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device_id TEXT REFERENCES devices(id) ON DELETE SET NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  idle_expires_at BIGINT NOT NULL,
  mfa_methods_json JSONB NOT NULL,
  mfa_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_device ON sessions(device_id);

CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  kind TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  revoked_at BIGINT,
  revocation_reason TEXT
);

CREATE TABLE config_versions (
  version INTEGER PRIMARY KEY,
  content TEXT NOT NULL,
  checksum TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE audit_records (
  seq BIGINT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time BIGINT NOT NULL,
  kind TEXT NOT NULL,
  user_id TEXT,
  device_id TEXT,
  route TEXT,
  decision TEXT,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_records_time ON audit_records(time);
CREATE INDEX audit_records_user ON audit_records(user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX audit_records_device ON audit_records(device_id, seq) WHERE device_id IS NOT NULL;

CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');

CREATE TABLE audit_checkpoints (
  id BIGSERIAL PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL,
  time BIGINT NOT NULL,
  kind TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq);
`;

/**
 * 2: enrollment codes and posture history get tables; devices get the certificate fingerprint,
 * the previous serial and a version for compare-and-set, and a host name index; certificates keep
 * their DER, names and issuer, with indexes for subject lookups and the CRL's query. Rows from
 * before keep null for what was not recorded (version 1 for devices).
 */
const v2Sqlite = `
ALTER TABLE devices ADD COLUMN certificate_fingerprint TEXT;
ALTER TABLE devices ADD COLUMN previous_certificate_serial TEXT;
ALTER TABLE devices ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX devices_fingerprint ON devices(certificate_fingerprint)
  WHERE certificate_fingerprint IS NOT NULL;
CREATE INDEX devices_hostname ON devices(lower(hostname), id);

CREATE TABLE device_posture_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  source TEXT NOT NULL,
  seq INTEGER,
  attributes_json TEXT NOT NULL,
  unavailable_json TEXT,
  tier TEXT,
  changes_json TEXT NOT NULL
) STRICT;
CREATE INDEX device_posture_history_device ON device_posture_history(device_id, at, id);

CREATE TABLE enrollment_codes (
  code_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) STRICT;
CREATE INDEX enrollment_codes_user ON enrollment_codes(user_id);
CREATE INDEX enrollment_codes_expires ON enrollment_codes(expires_at);

ALTER TABLE certificates ADD COLUMN der BLOB;
ALTER TABLE certificates ADD COLUMN names_json TEXT;
ALTER TABLE certificates ADD COLUMN issuer_serial TEXT;
CREATE INDEX certificates_subject ON certificates(subject, serial);
CREATE INDEX certificates_revoked ON certificates(serial, not_after) WHERE revoked_at IS NOT NULL;
`;

const v2Postgres = `
ALTER TABLE devices ADD COLUMN certificate_fingerprint TEXT;
ALTER TABLE devices ADD COLUMN previous_certificate_serial TEXT;
ALTER TABLE devices ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX devices_fingerprint ON devices(certificate_fingerprint)
  WHERE certificate_fingerprint IS NOT NULL;
CREATE INDEX devices_hostname ON devices(lower(hostname), id COLLATE "C");

CREATE TABLE device_posture_history (
  id BIGSERIAL PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  at BIGINT NOT NULL,
  source TEXT NOT NULL,
  seq BIGINT,
  attributes_json JSONB NOT NULL,
  unavailable_json JSONB,
  tier TEXT,
  changes_json JSONB NOT NULL
);
CREATE INDEX device_posture_history_device ON device_posture_history(device_id, at, id);

CREATE TABLE enrollment_codes (
  code_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX enrollment_codes_user ON enrollment_codes(user_id);
CREATE INDEX enrollment_codes_expires ON enrollment_codes(expires_at);

ALTER TABLE certificates ADD COLUMN der BYTEA;
ALTER TABLE certificates ADD COLUMN names_json JSONB;
ALTER TABLE certificates ADD COLUMN issuer_serial TEXT;
CREATE INDEX certificates_subject ON certificates(subject, serial COLLATE "C");
CREATE INDEX certificates_revoked ON certificates(serial COLLATE "C", not_after)
  WHERE revoked_at IS NOT NULL;
`;

export const migrations: readonly Migration[] = [
  { version: 1, name: 'initial schema', sqlite: v1Sqlite, postgres: v1Postgres },
  {
    version: 2,
    name: 'enrollment codes, posture history, device certificates, certificate contents',
    sqlite: v2Sqlite,
    postgres: v2Postgres,
  },
];

export const LATEST_SCHEMA_VERSION = migrations.length;

export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}
