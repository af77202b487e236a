import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ProblemsError, formatProblem } from '../shared/errors.js';
import { checkConfigText, defaultConfigPath, loadConfigFile, loadConfigText } from './load.js';
import { assertAt, findProblem, problemsOf, show } from './test-helpers/problems.js';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('a valid config', () => {
  test('the example of PRODUCT.md section 3 loads with its values', () => {
    const file = join(fixtures, 'full.yaml');
    const loaded = loadConfigFile(file, { env: {} });
    const { config } = loaded;
    assert.equal(loaded.file, file);
    assert.equal(loaded.dir, fixtures);
    assert.deepEqual(loaded.problems, []);
    assert.equal(config.data_dir, join(fixtures, '.ztgate'));
    assert.equal(config.listen, '127.0.0.1:8443');
    assert.equal(config.public_url, 'https://auth.localhost:8443');
    assert.equal(config.store, 'sqlite');
    assert.deepEqual(config.identity, { builtin: {} });
    assert.deepEqual(config.session, { ttl: '8h', idle: '1h', revalidate: '15m' });
    assert.equal(config.metrics_listen, undefined);
    assert.equal(config.tls, undefined);
    assert.deepEqual(config.routes, [
      {
        from: 'https://app.localhost:8443',
        to: 'http://127.0.0.1:9000',
        policy: 'engineering',
        mode: 'enforce',
        identity_headers: false,
        preserve_host: false,
      },
    ]);
    assert.deepEqual(config.policies.engineering, {
      allow: [
        {
          groups: ['engineering'],
          mfa: { max_age: '30m' },
          device: {
            managed: true,
            posture: { disk_encrypted: true, os_patch_age_days: { max: 30 } },
          },
        },
      ],
      deny: [{ risk: { min: 70 } }],
    });
  });

  test('locate gives the position of a value, as written in the file', () => {
    const file = join(fixtures, 'full.yaml');
    const { locate } = loadConfigFile(file, { env: {} });
    assert.deepEqual(locate(['routes', 0, 'policy']), { file, line: 11, col: 13 });
    assert.deepEqual(locate(['session', 'ttl']), { file, line: 7, col: 17 });
    assert.deepEqual(locate(['policies', 'engineering', 'allow', 0, 'groups', 0]), {
      file,
      line: 16,
      col: 18,
    });
    // A block map is located at its key.
    assert.deepEqual(locate(['policies', 'engineering']), { file, line: 14, col: 3 });
    assert.equal(locate(['metrics_listen']), undefined);
    assert.equal(locate(['routes', 5]), undefined);
  });

  test('locate gives the key itself for a key the schema does not know', () => {
    const text = 'routes:\n  - from: https://a.localhost\n    polcy: x\n';
    const checked = checkConfigText(text, 'z.yaml', { env: {} });
    assert.equal(checked.config, undefined);
    assert.deepEqual(checked.locate(['routes', 0, 'polcy']), { file: 'z.yaml', line: 3, col: 5 });
    assert.deepEqual(checked.locate(['routes', 0, 'from']), { file: 'z.yaml', line: 2, col: 11 });
    assertAt(
      findProblem(checked.problems, 'ZT_CONFIG_UNKNOWN_KEY', 'routes[0].polcy'),
      3,
      5,
      'z.yaml',
    );
  });

  test('a file holding only `policies:` is a whole config, with every default', () => {
    const { config, problems } = loadConfigText(
      'policies:\n  p: {allow: [{public: true}]}\n',
      '/etc/ztgate/ztgate.yaml',
      {
        env: {},
      },
    );
    assert.deepEqual(problems, []);
    assert.equal(config.data_dir, '/etc/ztgate/.ztgate');
    assert.equal(config.listen, '127.0.0.1:8443');
    assert.equal(config.public_url, 'https://auth.localhost:8443');
    assert.equal(config.store, 'sqlite');
    assert.deepEqual(config.identity, { builtin: {} });
    assert.deepEqual(config.session, { ttl: '8h', idle: '1h', revalidate: '15m' });
    assert.deepEqual(config.routes, []);
    assert.deepEqual(Object.keys(config.policies), ['p']);
  });

  test('an empty file, or one with only comments, is the default config', () => {
    for (const text of ['', '# nothing here\n', '---\n', '~\n']) {
      const { config } = loadConfigText(text, 'ztgate.yaml', { env: {} });
      assert.deepEqual(config.routes, [], JSON.stringify(text));
      assert.deepEqual(config.policies, {});
    }
  });

  test('oidc identity with its defaults; relative *_file paths resolve against the config dir', () => {
    const text = [
      'identity:',
      '  oidc:',
      '    issuer: https://login.example.com',
      '    client_id: ztgate',
      '    client_secret_file: secrets/client',
      'tls: {cert_file: tls/cert.pem, key_file: /abs/key.pem}',
      'data_dir: /var/lib/ztgate',
      'store: postgres://ztgate@127.0.0.1:5432/ztgate',
      'metrics_listen: "[::1]:9090"',
      '',
    ].join('\n');
    const { config, problems } = loadConfigText(text, '/etc/ztgate/ztgate.yaml', { env: {} });
    assert.deepEqual(problems, []);
    assert.deepEqual(config.identity.oidc, {
      issuer: 'https://login.example.com',
      client_id: 'ztgate',
      client_secret_file: '/etc/ztgate/secrets/client',
      groups_claim: 'groups',
      scopes: ['openid', 'email', 'profile'],
    });
    assert.deepEqual(config.tls, {
      cert_file: '/etc/ztgate/tls/cert.pem',
      key_file: '/abs/key.pem',
    });
    assert.equal(config.data_dir, '/var/lib/ztgate');
    assert.equal(config.store, 'postgres://ztgate@127.0.0.1:5432/ztgate');
    assert.equal(config.metrics_listen, '[::1]:9090');
  });

  test('a relative config path gives an absolute file and dir', () => {
    const { file, dir, config } = loadConfigText('', 'conf/ztgate.yaml', { env: {} });
    assert.equal(file, resolve('conf/ztgate.yaml'));
    assert.equal(dir, resolve('conf'));
    assert.equal(config.data_dir, resolve('conf/.ztgate'));
  });

  test('an inline policy in a route', () => {
    const text =
      'routes:\n  - from: https://a.localhost/api\n    to: https://10.0.0.1\n    policy: {allow: [{authenticated: true}]}\n';
    const { config } = loadConfigText(text, 'z.yaml', { env: {} });
    assert.deepEqual(config.routes[0]?.policy, { allow: [{ authenticated: true }] });
  });

  test('session.idle defaults to ttl when ttl is shorter than an hour', () => {
    const { config } = loadConfigText('session: {ttl: 30m}\n', 'z.yaml', { env: {} });
    assert.deepEqual(config.session, { ttl: '30m', idle: '30m', revalidate: '15m' });
  });

  test('warnings are returned with a loaded config: audit mode, plain http off loopback', () => {
    const text = [
      'routes:',
      '  - from: https://a.example.com',
      '    to: http://10.1.2.3:8080',
      '    policy: p',
      '    mode: audit',
      '  - from: https://b.example.com',
      '    to: http://[::1]:8080',
      '    policy: p',
      'policies: {p: {allow: [{public: true}]}}',
      '',
    ].join('\n');
    const { problems } = loadConfigText(text, 'ztgate.yaml', { env: {} });
    assert.equal(problems.length, 2, show(problems));
    assert.ok(problems.every((p) => p.severity === 'warning' && p.code === 'ZT_CONFIG_INSECURE'));
    assertAt(findProblem(problems, 'ZT_CONFIG_INSECURE', 'routes[0].to'), 3, 9);
    assertAt(findProblem(problems, 'ZT_CONFIG_INSECURE', 'routes[0].mode'), 5, 11);
  });

  test('defaultConfigPath: ZTGATE_CONFIG or ./ztgate.yaml', () => {
    assert.equal(defaultConfigPath({}), './ztgate.yaml');
    assert.equal(defaultConfigPath({ ZTGATE_CONFIG: '' }), './ztgate.yaml');
    assert.equal(defaultConfigPath({ ZTGATE_CONFIG: '/etc/ztgate.yaml' }), '/etc/ztgate.yaml');
  });
});

describe('reading the file', () => {
  test('a missing file is ZT_CONFIG_FILE_UNREADABLE', () => {
    assert.throws(
      () => loadConfigFile(join(fixtures, 'no-such-file.yaml'), { env: {} }),
      (err: unknown) => {
        assert.ok(err instanceof ProblemsError);
        assert.equal(err.code, 'ZT_CONFIG_FILE_UNREADABLE');
        assert.match(err.message, /does not exist/);
        return true;
      },
    );
  });

  test('a directory is ZT_CONFIG_FILE_UNREADABLE', () => {
    assert.throws(() => loadConfigFile(fixtures, { env: {} }), {
      code: 'ZT_CONFIG_FILE_UNREADABLE',
    });
  });

  test('a file that is not UTF-8 is ZT_CONFIG_YAML_SYNTAX at the bad byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztgate-config-'));
    try {
      const file = join(dir, 'ztgate.yaml');
      writeFileSync(
        file,
        Buffer.from([0x61, 0x3a, 0x20, 0x31, 0x0a, 0x62, 0x3a, 0x20, 0xff, 0xfe, 0x0a]),
      );
      assert.throws(
        () => loadConfigFile(file, { env: {} }),
        (err: unknown) => {
          assert.ok(err instanceof ProblemsError);
          const p = findProblem(err.problems, 'ZT_CONFIG_YAML_SYNTAX');
          assert.deepEqual(p.at, { file, line: 2, col: 4 });
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a UTF-8 byte order mark is accepted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztgate-config-'));
    try {
      const file = join(dir, 'ztgate.yaml');
      writeFileSync(file, '\uFEFFlisten: 127.0.0.1:9443\n');
      assert.equal(loadConfigFile(file, { env: {} }).config.listen, '127.0.0.1:9443');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the config file directory is used for relative paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztgate-config-'));
    try {
      mkdirSync(join(dir, 'sub'));
      const file = join(dir, 'sub', 'ztgate.yaml');
      writeFileSync(file, 'data_dir: state\n');
      assert.equal(loadConfigFile(file, { env: {} }).config.data_dir, join(dir, 'sub', 'state'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('problems are collected, located and worded', () => {
  test('every problem of a file is reported in one run, in file order', () => {
    const text = [
      'listn: 127.0.0.1:8443', // 1
      'public_url: http://auth.example.com', // 2
      'session: {ttl: 8 hours}', // 3
      'routes:', // 4
      '  - from: https://app.example.com', // 5
      '    to: http://127.0.0.1:9000', // 6
      '    polcy: engineering', // 7
      '', // 8
    ].join('\n');
    const problems = problemsOf(text);
    assert.deepEqual(
      problems.map((p) => [p.code, p.at?.line]),
      [
        ['ZT_CONFIG_UNKNOWN_KEY', 1],
        ['ZT_CONFIG_INVALID_URL', 2],
        ['ZT_CONFIG_INVALID_DURATION', 3],
        ['ZT_CONFIG_UNKNOWN_KEY', 7],
      ],
      show(problems),
    );
  });

  test('the ProblemsError message of a single error is the formatted problem', () => {
    try {
      loadConfigText('listn: 1\n', 'ztgate.yaml', { env: {} });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof ProblemsError);
      assert.equal(err.code, 'ZT_CONFIG_UNKNOWN_KEY');
      assert.equal(
        err.message,
        'ztgate.yaml:1:1: error ZT_CONFIG_UNKNOWN_KEY: unknown key `listn` (at `listn`)\n  help: did you mean `listen`?',
      );
    }
  });

  test('ProblemsError carries the warnings too', () => {
    const text =
      'routes:\n  - {from: https://a.example.com, to: https://b.example.com, policy: nope, mode: audit}\n';
    const problems = problemsOf(text);
    findProblem(problems, 'ZT_POLICY_UNKNOWN', 'routes[0].policy');
    assert.equal(findProblem(problems, 'ZT_CONFIG_INSECURE', 'routes[0].mode').severity, 'warning');
  });

  test('ZT_CONFIG_UNKNOWN_KEY: did you mean, for a top-level key', () => {
    const p = findProblem(problemsOf('listn: 127.0.0.1:8443\n'), 'ZT_CONFIG_UNKNOWN_KEY', 'listn');
    assert.equal(p.message, 'unknown key `listn`');
    assert.equal(p.help, 'did you mean `listen`?');
    assertAt(p, 1, 1);
  });

  test('ZT_CONFIG_UNKNOWN_KEY: did you mean, for a route key; no second problem for the missing key', () => {
    const text =
      'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:1\n    polcy: p\npolicies: {p: {}}\n';
    const problems = problemsOf(text);
    const p = findProblem(problems, 'ZT_CONFIG_UNKNOWN_KEY', 'routes[0].polcy');
    assert.equal(p.help, 'did you mean `policy`?');
    assertAt(p, 4, 5);
    assert.equal(
      problems.filter((x) => x.code === 'ZT_CONFIG_MISSING_KEY').length,
      0,
      show(problems),
    );
  });

  test('ZT_CONFIG_UNKNOWN_KEY: did you mean, for a criterion inside policies.x.allow[0]', () => {
    const text =
      'policies:\n  x:\n    allow:\n      - grups: [admins]\n        mfa: {max_ag: 5m}\n';
    const problems = problemsOf(text);
    const p = findProblem(problems, 'ZT_CONFIG_UNKNOWN_KEY', 'policies.x.allow[0].grups');
    assert.equal(p.help, 'did you mean `groups`?');
    assertAt(p, 4, 9);
    const q = findProblem(problems, 'ZT_CONFIG_UNKNOWN_KEY', 'policies.x.allow[0].mfa.max_ag');
    assert.equal(q.help, 'did you mean `max_age`?');
    assertAt(q, 5, 15);
  });

  test('ZT_CONFIG_UNKNOWN_KEY: a criterion nested in `any`, and keys that are not close to any', () => {
    const text =
      'policies:\n  x:\n    deny:\n      - any:\n          - {countrys: [DE], zzzzzzzz: 1}\n';
    const problems = problemsOf(text);
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_UNKNOWN_KEY', 'policies.x.deny[0].any[0].countrys').help,
      'did you mean `countries`?',
    );
    const far = findProblem(
      problems,
      'ZT_CONFIG_UNKNOWN_KEY',
      'policies.x.deny[0].any[0].zzzzzzzz',
    );
    assert.match(far.help ?? '', /^the keys allowed here are `public`, /);
  });

  test('ZT_CONFIG_UNKNOWN_KEY: one problem per key', () => {
    const problems = problemsOf('a: 1\nb: 2\nsession: {ttl: 1h, c: 3}\n');
    assert.deepEqual(
      problems.map((p) => [p.code, p.path, p.at?.line, p.at?.col]),
      [
        ['ZT_CONFIG_UNKNOWN_KEY', ['a'], 1, 1],
        ['ZT_CONFIG_UNKNOWN_KEY', ['b'], 2, 1],
        ['ZT_CONFIG_UNKNOWN_KEY', ['session', 'c'], 3, 20],
      ],
    );
  });

  test('ZT_CONFIG_MISSING_KEY: located at the map that lacks it', () => {
    const text =
      'identity:\n  oidc:\n    issuer: https://login.example.com\n    client_id: ztgate\n';
    const p = findProblem(
      problemsOf(text),
      'ZT_CONFIG_MISSING_KEY',
      'identity.oidc.client_secret_file',
    );
    assert.equal(p.message, 'missing key `client_secret_file`');
    assertAt(p, 2, 3);
  });

  test('ZT_CONFIG_MISSING_KEY: a route without `to`', () => {
    const text =
      'routes:\n  - from: https://a.example.com\n    policy: {allow: [{public: true}]}\n';
    const p = findProblem(problemsOf(text), 'ZT_CONFIG_MISSING_KEY', 'routes[0].to');
    assertAt(p, 2, 5);
  });

  test('ZT_CONFIG_WRONG_TYPE: expected versus got', () => {
    const problems = problemsOf('listen: 8443\nroutes: {}\nsession: []\n');
    const listen = findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'listen');
    assert.equal(listen.message, 'expected a string, got the number `8443`');
    assert.equal(listen.help, 'put the value in quotes to make it a string: `"8443"`');
    assertAt(listen, 1, 9);
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'routes').message,
      'expected a list of maps, got a map',
    );
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'session').message,
      'expected a map, got an empty list',
    );
  });

  test('ZT_CONFIG_WRONG_TYPE: an empty value', () => {
    const p = findProblem(problemsOf('session:\n  ttl:\n'), 'ZT_CONFIG_WRONG_TYPE', 'session.ttl');
    assert.equal(p.message, 'expected a duration such as `30m`, got an empty value');
    assert.equal(p.help, 'give `ttl` a value, or remove the key');
    assertAt(p, 2, 3);
  });

  test('ZT_CONFIG_WRONG_TYPE: one clear message for a criterion that takes a string or a list', () => {
    const text = 'policies:\n  x:\n    allow:\n      - groups: {a: 1}\n        users: [5]\n';
    const problems = problemsOf(text);
    const groups = findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'policies.x.allow[0].groups');
    assert.equal(groups.message, 'expected a string or a list of strings, got a map');
    assertAt(groups, 4, 17);
    const users = findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'policies.x.allow[0].users[0]');
    assert.equal(users.message, 'expected a string, got the number `5`');
    assertAt(users, 5, 17);
    assert.ok(
      problems.every((p) => !/Invalid input/.test(p.message)),
      show(problems),
    );
  });

  test('ZT_CONFIG_INVALID_VALUE: `true`-only criteria, enums, empty lists, policy names', () => {
    const text = [
      'routes:',
      '  - {from: https://a.example.com, to: http://127.0.0.1:1, policy: p, mode: enforced}',
      'policies:',
      '  p:',
      '    allow:',
      '      - public: false',
      '      - mfa: false',
      '      - paths: []',
      '  bad name: {}',
      '',
    ].join('\n');
    const problems = problemsOf(text);
    const mode = findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'routes[0].mode');
    assert.equal(mode.message, 'expected one of `enforce` or `audit`, got the string `enforced`');
    assert.equal(mode.help, 'did you mean `enforce`?');
    const pub = findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'policies.p.allow[0].public');
    assert.equal(pub.message, 'expected `true`, got `false`');
    assertAt(pub, 6, 17);
    const mfa = findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'policies.p.allow[1].mfa');
    assert.equal(mfa.message, 'expected `true` or a map, got `false`');
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'policies.p.allow[2].paths');
    const name = findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'policies["bad name"]');
    assertAt(name, 9, 3);
  });

  test('ZT_CONFIG_INVALID_VALUE: identity needs exactly one provider', () => {
    const both = findProblem(
      problemsOf(
        'identity:\n  builtin: {}\n  oidc: {issuer: https://l.example.com, client_id: c, client_secret_file: f}\n',
      ),
      'ZT_CONFIG_INVALID_VALUE',
      'identity',
    );
    assert.match(both.message, /both `builtin` and `oidc`/);
    assertAt(both, 1, 1); // a block map is located at its key
    const none = findProblem(problemsOf('identity: {}\n'), 'ZT_CONFIG_INVALID_VALUE', 'identity');
    assert.equal(none.message, 'no identity provider is configured');
  });

  test('ZT_CONFIG_INVALID_VALUE: session.idle longer than session.ttl; zero durations', () => {
    const problems = problemsOf('session:\n  ttl: 1h\n  idle: 2h\n');
    const p = findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'session.idle');
    assert.equal(p.message, '`session.idle` (2h) is longer than `session.ttl` (1h)');
    assertAt(p, 3, 9);
    findProblem(problemsOf('session: {ttl: "0"}\n'), 'ZT_CONFIG_INVALID_VALUE', 'session.ttl');
  });

  test('ZT_CONFIG_INVALID_VALUE: scopes without openid', () => {
    const text =
      'identity:\n  oidc: {issuer: https://l.example.com, client_id: c, client_secret_file: f, scopes: [email]}\n';
    findProblem(problemsOf(text), 'ZT_CONFIG_INVALID_VALUE', 'identity.oidc.scopes');
  });

  test('ZT_CONFIG_INVALID_DURATION: pattern failures in the config and in policies', () => {
    const text =
      'session:\n  ttl: 8 hours\npolicies:\n  p:\n    allow:\n      - mfa: {max_age: 30 minutes}\n';
    const problems = problemsOf(text);
    const ttl = findProblem(problems, 'ZT_CONFIG_INVALID_DURATION', 'session.ttl');
    assert.equal(ttl.message, 'the string `8 hours` is not a duration');
    assert.equal(ttl.help, 'write a duration such as `90s`, `30m`, `8h`, `7d` or `1h30m`');
    assertAt(ttl, 2, 8);
    findProblem(problems, 'ZT_CONFIG_INVALID_DURATION', 'policies.p.allow[0].mfa.max_age');
  });

  test('ZT_CONFIG_INVALID_DURATION: a duration that matches the pattern but repeats a unit', () => {
    findProblem(
      problemsOf('session: {revalidate: 1m2m}\n'),
      'ZT_CONFIG_INVALID_DURATION',
      'session.revalidate',
    );
  });

  test('ZT_CONFIG_INVALID_URL: public_url must be an https origin', () => {
    const cases: [string, RegExp][] = [
      ['http://auth.example.com', /must use https/],
      ['https://auth.example.com/login', /without a path, query or fragment/],
      ['https://auth.example.com?x=1', /without a path, query or fragment/],
      ['https://auth.example.com#x', /without a path, query or fragment/],
      ['https://user@auth.example.com', /user name or password/],
      ['auth.example.com', /not an absolute URL/],
      ['https://', /not a valid URL/],
    ];
    for (const [url, message] of cases) {
      const p = findProblem(
        problemsOf(`public_url: "${url}"\n`),
        'ZT_CONFIG_INVALID_URL',
        'public_url',
      );
      assert.match(p.message, message, url);
      assertAt(p, 1, 13);
    }
    for (const ok of [
      'https://auth.example.com',
      'https://auth.example.com/',
      'https://[::1]:8443',
    ]) {
      loadConfigText(`public_url: "${ok}"\n`, 'z.yaml', { env: {} });
    }
  });

  test('ZT_CONFIG_INVALID_URL: route from and to', () => {
    const text = [
      'routes:',
      '  - {from: http://a.example.com, to: http://127.0.0.1:1, policy: p}',
      '  - {from: https://b.example.com?x, to: http://127.0.0.1:1, policy: p}',
      '  - {from: https://u:p@c.example.com, to: http://127.0.0.1:1, policy: p}',
      '  - {from: https://d.example.com, to: ftp://127.0.0.1, policy: p}',
      '  - {from: https://e.example.com, to: http://u:p@127.0.0.1, policy: p}',
      '  - {from: https://f.example.com#frag, to: http://127.0.0.1:1, policy: p}',
      '  - {from: https://g.example.com/api/, to: "https://10.0.0.1:8443/base", policy: p}',
      'policies: {p: {}}',
      '',
    ].join('\n');
    const problems = problemsOf(text);
    for (const [path, line] of [
      ['routes[0].from', 2],
      ['routes[1].from', 3],
      ['routes[2].from', 4],
      ['routes[3].to', 5],
      ['routes[4].to', 6],
      ['routes[5].from', 7],
    ] as const) {
      assert.equal(findProblem(problems, 'ZT_CONFIG_INVALID_URL', path).at?.line, line);
    }
    assert.equal(
      problems.filter((p) => p.code === 'ZT_CONFIG_INVALID_URL').length,
      6,
      show(problems),
    );
    assert.ok(!JSON.stringify(problems).includes('u:p@'), 'credentials are not echoed');
  });

  test('ZT_CONFIG_INVALID_URL: store and oidc issuer', () => {
    findProblem(problemsOf('store: "postgres://[bad"\n'), 'ZT_CONFIG_INVALID_URL', 'store');
    const store = findProblem(problemsOf('store: mysql://x\n'), 'ZT_CONFIG_INVALID_VALUE', 'store');
    assert.match(store.message, /`sqlite` or a PostgreSQL URL/);
    const issuer = (url: string): string =>
      `identity:\n  oidc: {issuer: "${url}", client_id: c, client_secret_file: f}\n`;
    findProblem(
      problemsOf(issuer('http://login.example.com')),
      'ZT_CONFIG_INVALID_URL',
      'identity.oidc.issuer',
    );
    findProblem(
      problemsOf(issuer('https://login.example.com?a=b')),
      'ZT_CONFIG_INVALID_URL',
      'identity.oidc.issuer',
    );
    const local = loadConfigText(issuer('http://127.0.0.1:9999'), 'z.yaml', { env: {} });
    assert.equal(local.problems[0]?.code, 'ZT_CONFIG_INSECURE');
  });

  test('a password in the store URL is a warning', () => {
    const { problems } = loadConfigText('store: postgres://u:secret@db/ztgate\n', 'z.yaml', {
      env: {},
    });
    const p = findProblem(problems, 'ZT_CONFIG_INSECURE', 'store');
    assert.ok(!formatProblem(p).includes('secret'));
  });

  test('ZT_CONFIG_INVALID_LISTEN: host:port, IPv6 in brackets, port 1-65535', () => {
    const bad: [string, RegExp][] = [
      ['8443', /has no port/],
      [':8443', /has no host/],
      ['::1:8443', /IPv6 address without brackets/],
      ['[::1]', /has no port/],
      ['[nope]:1', /not an IPv6 address/],
      ['127.0.0.1:0', /out of range/],
      ['127.0.0.1:65536', /out of range/],
      ['127.0.0.1:http', /not a port number/],
      ['300.1.1.1:80', /not an IP address or host name/],
      ['bad_host:80', /not an IP address or host name/],
    ];
    for (const [listen, message] of bad) {
      const p = findProblem(
        problemsOf(`listen: "${listen}"\n`),
        'ZT_CONFIG_INVALID_LISTEN',
        'listen',
      );
      assert.match(p.message, message, listen);
      assertAt(p, 1, 9);
    }
    findProblem(problemsOf('metrics_listen: "x"\n'), 'ZT_CONFIG_INVALID_LISTEN', 'metrics_listen');
    for (const ok of ['0.0.0.0:443', '[::]:8443', 'localhost:1', 'gw.example.com:65535']) {
      assert.equal(loadConfigText(`listen: "${ok}"\n`, 'z.yaml', { env: {} }).config.listen, ok);
    }
  });

  test('ZT_CONFIG_DUPLICATE_ROUTE: two routes with the same from (after normalization)', () => {
    const text = [
      'routes:',
      '  - {from: https://app.example.com/api, to: http://127.0.0.1:1, policy: p}',
      '  - {from: https://app.example.com/web, to: http://127.0.0.1:2, policy: p}',
      '  - {from: "https://APP.example.com:443/api/", to: http://127.0.0.1:3, policy: p}',
      'policies: {p: {}}',
      '',
    ].join('\n');
    const problems = problemsOf(text);
    const p = findProblem(problems, 'ZT_CONFIG_DUPLICATE_ROUTE', 'routes[2].from');
    assertAt(p, 4, 12);
    assert.match(p.help ?? '', /routes\[0\] \(line 2\)/);
    assert.equal(problems.length, 1, show(problems));
  });

  test('ZT_POLICY_UNKNOWN: a route naming a policy that does not exist, with did you mean', () => {
    const text =
      'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:1\n    policy: enginering\npolicies:\n  engineering: {}\n';
    const p = findProblem(problemsOf(text), 'ZT_POLICY_UNKNOWN', 'routes[0].policy');
    assert.equal(p.message, 'no policy is named `enginering`');
    assert.equal(p.help, 'did you mean `engineering`?');
    assertAt(p, 4, 13);
  });

  test('ZT_POLICY_UNKNOWN: names of Object.prototype are not policies', () => {
    const text =
      'routes:\n  - {from: https://a.example.com, to: http://127.0.0.1:1, policy: constructor}\n';
    findProblem(problemsOf(text), 'ZT_POLICY_UNKNOWN', 'routes[0].policy');
  });

  test('ZT_CONFIG_YAML_SYNTAX: with line and column', () => {
    const problems = problemsOf('listen: 1\nroutes: [\n  {a: 1\n');
    assert.ok(
      problems.length > 0 && problems.every((p) => p.code === 'ZT_CONFIG_YAML_SYNTAX'),
      show(problems),
    );
    assert.deepEqual(problems[0]?.at, { file: 'ztgate.yaml', line: 4, col: 1 });
    const tab = findProblem(problemsOf('session:\n\tttl: 1h\n'), 'ZT_CONFIG_YAML_SYNTAX');
    assertAt(tab, 2, 1);
    assert.match(tab.help ?? '', /spaces/);
  });

  test('ZT_CONFIG_YAML_SYNTAX: two documents in one file', () => {
    const p = findProblem(
      problemsOf('listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n'),
      'ZT_CONFIG_YAML_SYNTAX',
    );
    assertAt(p, 2, 1);
  });

  test('ZT_CONFIG_YAML_SYNTAX: tags outside the core schema are refused', () => {
    findProblem(problemsOf('data_dir: !!binary aGVsbG8=\n'), 'ZT_CONFIG_YAML_SYNTAX');
    findProblem(problemsOf('data_dir: !custom x\n'), 'ZT_CONFIG_YAML_SYNTAX');
  });

  test('YAML 1.2 core schema: yes/no/on/off are strings', () => {
    const p = findProblem(
      problemsOf(
        'routes:\n  - {from: https://a.localhost, to: http://127.0.0.1:1, policy: p, identity_headers: yes}\npolicies: {p: {}}\n',
      ),
      'ZT_CONFIG_WRONG_TYPE',
      'routes[0].identity_headers',
    );
    assert.equal(p.message, 'expected a boolean, got the string `yes`');
  });

  test('messages never include a raw zod text', () => {
    const text =
      'policies:\n  p:\n    allow:\n      - {device: {posture: {x: [1]}}, time: {days: 1}, claims: {a: {b: 1}}, client_cert: 3}\n';
    const problems = problemsOf(text);
    assert.ok(problems.length >= 4, show(problems));
    for (const p of problems) {
      assert.doesNotMatch(p.message, /Invalid|received|Unrecognized/, formatProblem(p));
      assert.equal(p.message.charAt(0), p.message.charAt(0).toLowerCase(), formatProblem(p));
    }
  });
});

describe('many problems', () => {
  test('at most 100 errors and 100 warnings are listed, then one summary', () => {
    const routes = Array.from(
      { length: 300 },
      (_, i) =>
        `  - {from: https://a${i}.example.com, to: http://10.0.0.1, policy: p, mode: audit}`,
    );
    const text = `routes:\n${routes.join('\n')}\npolicies: {p: {}}\n`;
    const { problems } = loadConfigText(text, 'ztgate.yaml', { env: {} });
    assert.equal(problems.length, 101);
    assert.equal(problems[100]?.code, 'ZT_CONFIG_TOO_MANY_PROBLEMS');
    assert.equal(problems[100]?.severity, 'warning');
    const errors = problemsOf(`routes:\n${'  - 1\n'.repeat(150)}`);
    assert.equal(errors.length, 101);
    assert.equal(errors[100]?.severity, 'error');
    assert.equal(errors[100]?.message, 'more than 100 errors were found; the first 100 are listed');
  });
});
