import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ZtError, formatProblem } from '../shared/errors.js';
import { loadConfigText } from './load.js';
import { readSecretFile } from './secrets.js';
import { findProblem, problemsOf } from './test-helpers/problems.js';

const SECRET = 's3cr3t-value-never-printed';

describe('secret files', { skip: process.platform === 'win32' }, () => {
  let dir = '';
  const file = (name: string, content: string, mode: number): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ztgate-secrets-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('readSecretFile reads a 0600 file and trims one trailing newline', () => {
    assert.equal(readSecretFile(file('a', `${SECRET}\n`, 0o600)), SECRET);
    assert.equal(readSecretFile(file('b', `${SECRET}\r\n`, 0o400)), SECRET);
    assert.equal(readSecretFile(file('c', `${SECRET}\n\n`, 0o600)), `${SECRET}\n`);
  });

  test('readSecretFile follows a symbolic link (as Kubernetes mounts secrets)', () => {
    const target = file('target', SECRET, 0o600);
    const link = join(dir, 'link');
    symlinkSync(target, link);
    assert.equal(readSecretFile(link), SECRET);
  });

  test('readSecretFile refuses a file group or others can access, without its contents', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o601]) {
      const path = file(`open-${mode.toString(8)}`, SECRET, mode);
      assert.throws(
        () => readSecretFile(path),
        (err: unknown) => {
          assert.ok(err instanceof ZtError);
          assert.equal(err.code, 'ZT_CONFIG_SECRET_PERMISSIONS');
          assert.match(err.message, new RegExp(`mode 0${mode.toString(8)}`));
          assert.ok(!err.message.includes(SECRET) && !(err.help ?? '').includes(SECRET));
          return true;
        },
      );
    }
  });

  test('readSecretFile refuses a missing, empty or non-regular file', () => {
    assert.throws(() => readSecretFile(join(dir, 'missing')), {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: /does not exist/,
    });
    assert.throws(() => readSecretFile(file('empty', '', 0o600)), {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: /is empty/,
    });
    assert.throws(() => readSecretFile(file('newline', '\n', 0o600)), {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: /is empty/,
    });
    mkdirSync(join(dir, 'adir'));
    assert.throws(() => readSecretFile(join(dir, 'adir')), {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: /not a regular file/,
    });
  });

  test('readSecrets checks every *_file of the config, located at its key', () => {
    mkdirSync(join(dir, 'conf'));
    file('conf/client-secret', SECRET, 0o644);
    file('conf/key.pem', 'KEY', 0o600);
    file('conf/cert.pem', 'CERT', 0o644); // a certificate is not a secret
    const text = [
      'identity:',
      '  oidc:',
      '    issuer: https://login.example.com',
      '    client_id: ztgate',
      '    client_secret_file: client-secret',
      'tls: {cert_file: cert.pem, key_file: key.pem}',
      '',
    ].join('\n');
    const configFile = join(dir, 'conf', 'ztgate.yaml');
    const problems = problemsOf(text, { readSecrets: true }, configFile);
    assert.equal(problems.length, 1, problems.map((p) => formatProblem(p)).join('\n'));
    const p = findProblem(
      problems,
      'ZT_CONFIG_SECRET_PERMISSIONS',
      'identity.oidc.client_secret_file',
    );
    assert.deepEqual(p.at, { file: configFile, line: 5, col: 25 });
    assert.ok(!formatProblem(p).includes(SECRET));

    chmodSync(join(dir, 'conf', 'client-secret'), 0o600);
    const { config } = loadConfigText(text, configFile, { env: {}, readSecrets: true });
    assert.equal(readSecretFile(config.identity.oidc?.client_secret_file ?? ''), SECRET);
    assert.equal(config.tls?.key_file, join(dir, 'conf', 'key.pem'));
  });

  test('readSecrets reports a missing secret file; without readSecrets it is not checked', () => {
    const text = 'tls: {cert_file: nope-cert.pem, key_file: nope-key.pem}\n';
    const configFile = join(dir, 'ztgate.yaml');
    const problems = problemsOf(text, { readSecrets: true }, configFile);
    findProblem(problems, 'ZT_CONFIG_SECRET_FILE', 'tls.cert_file');
    const key = findProblem(problems, 'ZT_CONFIG_SECRET_FILE', 'tls.key_file');
    assert.match(key.message, /does not exist/);
    assert.deepEqual(key.at, { file: configFile, line: 1, col: 43 });
    loadConfigText(text, configFile, { env: {} });
  });
});
