import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envKeys } from './json-schema.js';
import { loadConfigText } from './load.js';
import { findProblem, problemsOf, show } from './test-helpers/problems.js';

describe('environment overrides', () => {
  test('the variables are derived from the schema: every scalar key outside lists and records', () => {
    assert.deepEqual(
      envKeys().map((k) => k.name),
      [
        'ZTGATE_DATA_DIR',
        'ZTGATE_LISTEN',
        'ZTGATE_PUBLIC_URL',
        'ZTGATE_METRICS_LISTEN',
        'ZTGATE_WORKERS',
        'ZTGATE_STORE',
        'ZTGATE_IDENTITY_OIDC_ISSUER',
        'ZTGATE_IDENTITY_OIDC_CLIENT_ID',
        'ZTGATE_IDENTITY_OIDC_CLIENT_SECRET_FILE',
        'ZTGATE_IDENTITY_OIDC_GROUPS_CLAIM',
        'ZTGATE_IDENTITY_OIDC_CA_FILE',
        'ZTGATE_SESSION_TTL',
        'ZTGATE_SESSION_IDLE',
        'ZTGATE_SESSION_REVALIDATE',
        'ZTGATE_TLS_CERT_FILE',
        'ZTGATE_TLS_KEY_FILE',
        'ZTGATE_AUDIT_BATCH_WINDOW',
        'ZTGATE_AUDIT_BACKLOG_LIMIT',
        'ZTGATE_AUDIT_ON_BACKLOG_FULL',
        'ZTGATE_AUDIT_CHECKPOINT_INTERVAL',
        'ZTGATE_AUDIT_RETENTION',
        'ZTGATE_AUDIT_SYSLOG_ADDRESS',
        'ZTGATE_AUDIT_SYSLOG_TLS',
        'ZTGATE_AUDIT_SYSLOG_CA_FILE',
        'ZTGATE_AUDIT_WEBHOOK_URL',
        'ZTGATE_AUDIT_WEBHOOK_SECRET_FILE',
        'ZTGATE_AUDIT_WEBHOOK_CA_FILE',
        'ZTGATE_PROXY_MAX_REQUEST_BODY',
        'ZTGATE_PROXY_UPSTREAM_TIMEOUT',
        'ZTGATE_PROXY_UPSTREAM_IDLE_CONNECTIONS',
        'ZTGATE_PROXY_CLIENT_KEEPALIVE',
        'ZTGATE_PROXY_DRAIN_TIMEOUT',
        'ZTGATE_PROXY_TUNNEL_RECHECK',
        'ZTGATE_PROXY_DECISION_CACHE_MAX_ENTRIES',
        'ZTGATE_PROXY_DECISION_CACHE_TTL',
        'ZTGATE_PROXY_ACCESS_LOG',
        'ZTGATE_PKI_TRUST_DOMAIN',
        'ZTGATE_PKI_SERVER_CERT_TTL',
        'ZTGATE_PKI_DEVICE_CERT_TTL',
        'ZTGATE_PKI_SVID_TTL',
        'ZTGATE_DEVICES_REPORT_INTERVAL',
        'ZTGATE_DEVICES_POSTURE_TTL',
        'ZTGATE_DEVICES_REPORT_WINDOW',
        'ZTGATE_DEVICES_HISTORY',
        'ZTGATE_DEVICES_ENROLL_CODE_TTL',
      ],
    );
  });

  test('an override wins over the file', () => {
    const text = 'listen: 127.0.0.1:8443\nsession: {ttl: 8h}\n';
    const { config, locate, problems } = loadConfigText(text, 'ztgate.yaml', {
      env: {
        ZTGATE_LISTEN: '0.0.0.0:443',
        ZTGATE_SESSION_TTL: '12h',
        ZTGATE_PUBLIC_URL: 'https://gw.example.com',
      },
    });
    assert.deepEqual(problems, []);
    assert.equal(config.listen, '0.0.0.0:443');
    assert.equal(config.session.ttl, '12h');
    assert.equal(config.public_url, 'https://gw.example.com');
    assert.deepEqual(locate(['listen']), {
      file: 'ztgate.yaml',
      line: 0,
      col: 0,
      env: 'ZTGATE_LISTEN',
    });
    assert.deepEqual(locate(['session', 'idle']), undefined);
  });

  test('an override creates the maps above its key', () => {
    const { config } = loadConfigText('', 'ztgate.yaml', {
      env: {
        ZTGATE_IDENTITY_OIDC_ISSUER: 'https://login.example.com',
        ZTGATE_IDENTITY_OIDC_CLIENT_ID: 'ztgate',
        ZTGATE_IDENTITY_OIDC_CLIENT_SECRET_FILE: 'secret',
        ZTGATE_TLS_CERT_FILE: '/tls/cert.pem',
        ZTGATE_TLS_KEY_FILE: '/tls/key.pem',
      },
    });
    assert.equal(config.identity.oidc?.issuer, 'https://login.example.com');
    assert.equal(config.identity.oidc?.groups_claim, 'groups');
    assert.equal(config.identity.oidc?.client_secret_file, `${process.cwd()}/secret`);
    assert.deepEqual(config.tls, { cert_file: '/tls/cert.pem', key_file: '/tls/key.pem' });
  });

  test('values are read as YAML scalars; a string key keeps the text as written', () => {
    const { config } = loadConfigText('', 'ztgate.yaml', {
      env: {
        ZTGATE_DATA_DIR: '"/quoted dir"',
        ZTGATE_SESSION_IDLE: '30m',
        ZTGATE_IDENTITY_OIDC_CLIENT_ID: '12345',
        ZTGATE_IDENTITY_OIDC_ISSUER: 'https://l.example.com',
        ZTGATE_IDENTITY_OIDC_CLIENT_SECRET_FILE: '/s',
      },
    });
    assert.equal(config.data_dir, '/quoted dir');
    assert.equal(config.session.idle, '30m');
    assert.equal(config.identity.oidc?.client_id, '12345');
  });

  test('an empty variable is ignored', () => {
    const { config } = loadConfigText('listen: 127.0.0.1:1\n', 'ztgate.yaml', {
      env: { ZTGATE_LISTEN: '' },
    });
    assert.equal(config.listen, '127.0.0.1:1');
  });

  test('a bad value is located at the variable', () => {
    const problems = problemsOf('listen: 127.0.0.1:8443\n', {
      env: {
        ZTGATE_LISTEN: '8443',
        ZTGATE_SESSION_TTL: '5 minutes',
        ZTGATE_PUBLIC_URL: 'http://x.example.com',
      },
    });
    const listen = findProblem(problems, 'ZT_CONFIG_INVALID_LISTEN', 'listen');
    assert.deepEqual(listen.at, { file: 'ztgate.yaml', line: 0, col: 0, env: 'ZTGATE_LISTEN' });
    const ttl = findProblem(problems, 'ZT_CONFIG_INVALID_DURATION', 'session.ttl');
    assert.equal(ttl.at?.env, 'ZTGATE_SESSION_TTL');
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_URL', 'public_url').at?.env,
      'ZTGATE_PUBLIC_URL',
    );
  });

  test('a key missing beside an overridden key is located at the variable that created its map', () => {
    const problems = problemsOf('', {
      env: { ZTGATE_IDENTITY_OIDC_ISSUER: 'https://l.example.com' },
    });
    const p = findProblem(problems, 'ZT_CONFIG_MISSING_KEY', 'identity.oidc.client_id');
    assert.equal(p.at?.env, 'ZTGATE_IDENTITY_OIDC_ISSUER');
  });

  test('an override under a key that is not a map in the file is ZT_CONFIG_ENV_INVALID', () => {
    const problems = problemsOf('session: 5\n', { env: { ZTGATE_SESSION_TTL: '1h' } });
    const p = findProblem(problems, 'ZT_CONFIG_ENV_INVALID', 'session.ttl');
    assert.equal(p.at?.env, 'ZTGATE_SESSION_TTL');
    findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'session');
  });

  test('an unknown ZTGATE_ variable is a warning with did you mean', () => {
    const { problems } = loadConfigText('', 'ztgate.yaml', {
      env: { ZTGATE_LISTN: '1', ZTGATE_SESION_TTL: '1h', ZTGATE_WHATEVER_ELSE: 'x', OTHER: 'x' },
    });
    assert.equal(problems.length, 3, show(problems));
    assert.ok(
      problems.every((p) => p.severity === 'warning' && p.code === 'ZT_CONFIG_ENV_UNKNOWN'),
    );
    const listn = problems.find((p) => p.at?.env === 'ZTGATE_LISTN');
    assert.equal(listn?.help, 'did you mean `ZTGATE_LISTEN`?');
    assert.deepEqual(listn?.at, { file: 'ztgate.yaml', line: 0, col: 0, env: 'ZTGATE_LISTN' });
    assert.equal(
      problems.find((p) => p.at?.env === 'ZTGATE_SESION_TTL')?.help,
      'did you mean `ZTGATE_SESSION_TTL`?',
    );
  });

  test('ZTGATE_CONFIG names the file and is not a key', () => {
    const { problems } = loadConfigText('', 'ztgate.yaml', {
      env: { ZTGATE_CONFIG: '/etc/ztgate.yaml' },
    });
    assert.deepEqual(problems, []);
  });

  test('the environment defaults to process.env', () => {
    const before = process.env.ZTGATE_METRICS_LISTEN;
    process.env.ZTGATE_METRICS_LISTEN = '127.0.0.1:9999';
    try {
      assert.equal(loadConfigText('', 'ztgate.yaml').config.metrics_listen, '127.0.0.1:9999');
    } finally {
      if (before === undefined) delete process.env.ZTGATE_METRICS_LISTEN;
      else process.env.ZTGATE_METRICS_LISTEN = before;
    }
  });

  test('an override does not change a map shared through a YAML alias', () => {
    const text = 'session: &s {ttl: 2h, idle: 1h}\npolicies:\n  p: {allow: [{public: true}]}\n';
    const { config } = loadConfigText(text, 'ztgate.yaml', { env: { ZTGATE_SESSION_TTL: '3h' } });
    assert.equal(config.session.ttl, '3h');
  });
});
