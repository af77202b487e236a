/**
 * The sections `ztgate serve` reads besides identity and policies: `proxy:`, `pki:`, `devices:`,
 * and the per-route `preserve_host` and `tls`. Valid configs, every new key's bad values, the
 * environment overrides, file keys inside lists, and the runtime helpers.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkDeviceSettings } from '../device/settings.js';
import { TYPE_LIMITS } from '../pki/ca/profiles.js';
import { parseTrustDomain } from '../pki/spiffe.js';
import { formatProblem } from '../shared/errors.js';
import { loadConfigFile, loadConfigText } from './load.js';
import { pkiSettings, proxySettings } from './runtime.js';
import { PKI_TTL_BOUNDS, TRUST_DOMAIN_PATTERN } from './schema.js';
import { assertAt, findProblem, problemsOf, show } from './test-helpers/problems.js';

const FILE = '/etc/ztgate/ztgate.yaml';
const load = (text: string, env: Record<string, string> = {}) =>
  loadConfigText(text, FILE, { env });

/** A route line block with an inline public policy, for tests about other route keys. */
function route(extra: string[], to = 'https://app.internal:8443'): string {
  return [
    'routes:',
    '  - from: https://app.example.com',
    `    to: ${to}`,
    '    policy: {allow: [{public: true}]}',
    ...extra.map((l) => `    ${l}`),
    '',
  ].join('\n');
}

describe('a config with the new sections', () => {
  test('absent sections load with their defaults', () => {
    const { config, problems } = load('');
    assert.deepEqual(problems, []);
    assert.deepEqual(config.proxy, {
      trusted_proxies: [],
      max_request_body: 10 * 1024 * 1024,
      upstream_timeout: '30s',
      upstream_idle_connections: 64,
      client_keepalive: '65s',
      drain_timeout: '10s',
      tunnel_recheck: '60s',
      decision_cache: { max_entries: 10_000, ttl: '10s' },
      access_log: 'stdout',
    });
    assert.deepEqual(config.pki, {
      server_cert_ttl: '30d',
      device_cert_ttl: '30d',
      svid_ttl: '1h',
    });
    assert.deepEqual(config.devices, {
      report_interval: '60s',
      posture_ttl: '5m',
      report_window: '5m',
      history: 20,
      enroll_code_ttl: '10m',
      edr_processes: [],
      tiers: {},
      webhooks: [],
    });
  });

  test('every key set: values as written, sizes in bytes, relative paths resolved', () => {
    const text = [
      'proxy:',
      '  trusted_proxies: [10.0.0.0/8, 192.0.2.7, "2001:db8::/32"]',
      '  max_request_body: 512KiB',
      '  upstream_timeout: 1m',
      '  upstream_idle_connections: 0',
      '  client_keepalive: 75s',
      '  drain_timeout: 0s', // a bare 0 is a YAML number: durations are strings
      '  tunnel_recheck: 30s',
      '  decision_cache: false',
      '  access_log: logs/access.log', // a path with a `/`: relative to the config file
      'pki:',
      '  trust_domain: example.org',
      '  server_cert_ttl: 90d',
      '  device_cert_ttl: 7d',
      '  svid_ttl: 15m',
      'devices:',
      '  report_interval: 30s',
      '  edr_processes: [falcon-sensor]',
      '  tiers:',
      '    high: {managed: true, posture: {disk_encrypted: true, os_patch_age_days: {max: 14}}}',
      '  webhooks:',
      '    - name: intune',
      '      secret_file: secrets/intune',
      '      device: {pointer: /device/id}',
      '      map: {mdm_compliant: {pointer: /state, equals: compliant}}',
      route([
        'preserve_host: true',
        'tls:',
        '  ca_file: pki/app-ca.pem',
        '  cert_file: /etc/ztgate/proxy-client.pem',
        '  key_file: proxy-client.key',
        '  server_name: app.internal',
      ]),
    ].join('\n');
    const { config, problems } = load(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(config.proxy, {
      trusted_proxies: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'],
      max_request_body: 512 * 1024,
      upstream_timeout: '1m',
      upstream_idle_connections: 0,
      client_keepalive: '75s',
      drain_timeout: '0s',
      tunnel_recheck: '30s',
      decision_cache: false,
      access_log: '/etc/ztgate/logs/access.log',
    });
    assert.deepEqual(config.pki, {
      trust_domain: 'example.org',
      server_cert_ttl: '90d',
      device_cert_ttl: '7d',
      svid_ttl: '15m',
    });
    assert.equal(config.devices.report_interval, '30s');
    assert.equal(config.devices.webhooks[0]?.secret_file, '/etc/ztgate/secrets/intune');
    assert.equal(config.devices.webhooks[0]?.ttl, '1h');
    const r = config.routes[0];
    assert.equal(r?.preserve_host, true);
    assert.equal(r?.identity_headers, false);
    assert.deepEqual(r?.tls, {
      ca_file: '/etc/ztgate/pki/app-ca.pem',
      cert_file: '/etc/ztgate/proxy-client.pem',
      key_file: '/etc/ztgate/proxy-client.key',
      server_name: 'app.internal',
    });
  });

  test('sizes: plain bytes as a number or text, decimal and binary units', () => {
    const bytes = (v: string): number =>
      load(`proxy: {max_request_body: ${v}}\n`).config.proxy.max_request_body;
    assert.equal(bytes('1048576'), 1_048_576);
    assert.equal(bytes('"1048576"'), 1_048_576);
    assert.equal(bytes('0'), 0);
    assert.equal(bytes('10MiB'), 10_485_760);
    assert.equal(bytes('1GB'), 1_000_000_000);
    assert.equal(bytes('10 MiB'), 10_485_760);
  });

  test('access_log keywords stay keywords; an absolute path is kept', () => {
    for (const v of ['stdout', 'stderr', 'off', '/var/log/ztgate/access.log'])
      assert.equal(load(`proxy: {access_log: ${v}}\n`).config.proxy.access_log, v);
  });

  test('a route keeps its other keys unchanged and may leave tls out', () => {
    const { config } = load(route(['mode: audit', 'identity_headers: true']));
    assert.deepEqual(config.routes[0], {
      from: 'https://app.example.com',
      to: 'https://app.internal:8443',
      policy: { allow: [{ public: true }] },
      mode: 'audit',
      identity_headers: true,
      preserve_host: false,
    });
  });

  test('tls with only a CA, or only a server name, is fine', () => {
    for (const tls of ['{ca_file: /ca.pem}', '{server_name: app.internal}', '{}']) {
      const { problems } = load(route([`tls: ${tls}`]));
      assert.deepEqual(problems, [], tls);
    }
  });

  test('examples/ztgate.yaml loads, its device settings too', () => {
    const file = resolve(import.meta.dirname, '../../examples/ztgate.yaml');
    const loaded = loadConfigFile(file, { env: {} });
    assert.deepEqual(loaded.problems, []);
    const devices = checkDeviceSettings(loaded.config.devices, loaded.locate);
    assert.deepEqual(devices.problems, []);
    assert.ok((devices.settings?.tiers.length ?? 0) > 0);
  });
});

describe('bad values of the new keys', () => {
  test('proxy: wrong types, each at its line', () => {
    const text = [
      'proxy:', // 1
      '  trusted_proxies: 10.0.0.0/8', // 2
      '  max_request_body: true', // 3
      '  upstream_timeout: 30', // 4
      '  upstream_idle_connections: many', // 5
      '  decision_cache: true', // 6
      '  access_log: false', // 7
      '',
    ].join('\n');
    const problems = problemsOf(text);
    const p = (code: Parameters<typeof findProblem>[1], path: string) =>
      findProblem(problems, code, path);
    assertAt(p('ZT_CONFIG_WRONG_TYPE', 'proxy.trusted_proxies'), 2, 20);
    assert.match(
      p('ZT_CONFIG_WRONG_TYPE', 'proxy.max_request_body').message,
      /^expected a number or a size such as `10MiB`, got `true`$/,
    );
    assertAt(p('ZT_CONFIG_WRONG_TYPE', 'proxy.max_request_body'), 3, 21);
    assert.equal(
      p('ZT_CONFIG_WRONG_TYPE', 'proxy.upstream_timeout').help,
      'put the value in quotes to make it a string: `"30"`',
    );
    p('ZT_CONFIG_WRONG_TYPE', 'proxy.upstream_idle_connections');
    assert.equal(
      p('ZT_CONFIG_INVALID_VALUE', 'proxy.decision_cache').message,
      'expected `false` or a map, got `true`',
    );
    p('ZT_CONFIG_WRONG_TYPE', 'proxy.access_log');
    assert.equal(problems.length, 6, show(problems));
  });

  test('ZT_CONFIG_INVALID_SIZE: malformed sizes, with the unit that was meant', () => {
    const size = (v: string) =>
      findProblem(
        problemsOf(`proxy: {max_request_body: "${v}"}\n`),
        'ZT_CONFIG_INVALID_SIZE',
        'proxy.max_request_body',
      );
    assert.equal(size('10 megabytes').message, 'the string `10 megabytes` is not a size');
    assert.match(size('10mib').help ?? '', /^did you mean `10MiB`\?/);
    assert.match(size('10M').help ?? '', /^did you mean `10MiB`\?/);
    assert.match(size('10Gi').help ?? '', /^did you mean `10GiB`\?/);
    assert.match(size('1.5GiB').help ?? '', /whole numbers/);
    assert.match(size('-1').help ?? '', /whole number of bytes/);
    assert.match(size('lots').help ?? '', /`512KiB`, `10MiB`, `1GB`/);
    assert.match(size('99999999999TiB').message, /`99999999999TiB` is too large for a size/);
  });

  test('negative and fractional numbers of bytes', () => {
    findProblem(
      problemsOf('proxy: {max_request_body: -1}\n'),
      'ZT_CONFIG_INVALID_VALUE',
      'proxy.max_request_body',
    );
    findProblem(
      problemsOf('proxy: {max_request_body: 1.5}\n'),
      'ZT_CONFIG_WRONG_TYPE',
      'proxy.max_request_body',
    );
  });

  test('ZT_CONFIG_INVALID_CIDR: trusted_proxies as strict as source_ip, item by item', () => {
    const text = [
      'proxy:',
      '  trusted_proxies:',
      '    - 10.0.0.0/8', // 3: fine
      '    - 10.1.2.3/8', // 4: host bits
      '    - 010.0.0.1', // 5: leading zero
      '    - "fe80::1%eth0"', // 6: zone id
      '    - 10.0.0.0/33', // 7
      '    - proxy.internal', // 8: a name is not an address
      '    - "[::1]"', // 9
      '',
    ].join('\n');
    const problems = problemsOf(text);
    const cidr = (i: number) =>
      findProblem(problems, 'ZT_CONFIG_INVALID_CIDR', `proxy.trusted_proxies[${i}]`);
    assert.match(cidr(1).message, /has host bits set; did you mean `10\.0\.0\.0\/8`\?/);
    assertAt(cidr(1), 4, 7);
    assert.match(cidr(2).message, /leading zeros/);
    assert.match(cidr(3).message, /zone ids/);
    assert.match(cidr(4).message, /prefix length/);
    assert.match(cidr(5).message, /not an IP address or CIDR/);
    assert.match(cidr(6).message, /without brackets/);
    assert.equal(problems.length, 6, show(problems));
  });

  test('trusting every address is a warning', () => {
    const { problems } = load('proxy: {trusted_proxies: [0.0.0.0/0, "::/0", 10.0.0.0/8]}\n');
    assert.equal(problems.length, 2, show(problems));
    assert.ok(problems.every((p) => p.code === 'ZT_CONFIG_INSECURE' && p.severity === 'warning'));
    assert.deepEqual(problems[0]?.path, ['proxy', 'trusted_proxies', 0]);
  });

  test('durations: unusable, zero where that disables a safeguard, below a minimum', () => {
    const text = [
      'proxy:',
      '  upstream_timeout: "0"',
      '  client_keepalive: "0"',
      '  tunnel_recheck: 100ms',
      '  drain_timeout: 1h2h',
      '  decision_cache: {ttl: "0", max_entries: 0}',
      '',
    ].join('\n');
    const problems = problemsOf(text);
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'proxy.upstream_timeout').message,
      'expected a duration longer than 0, got `0`',
    );
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'proxy.client_keepalive');
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'proxy.tunnel_recheck').message,
      'expected a duration of at least 1s, got `100ms`',
    );
    assert.match(
      findProblem(problems, 'ZT_CONFIG_INVALID_DURATION', 'proxy.drain_timeout').message,
      /`1h2h` is not a usable duration/,
    );
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'proxy.decision_cache.ttl');
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'proxy.decision_cache.max_entries');
    assert.equal(problems.length, 6, show(problems));
  });

  test('access_log: a typo of a keyword, or a bare name, is not taken for a file', () => {
    const typo = findProblem(
      problemsOf('proxy: {access_log: stdot}\n'),
      'ZT_CONFIG_INVALID_VALUE',
      'proxy.access_log',
    );
    assert.equal(typo.message, 'expected `stdout`, `stderr`, `off` or a file path, got `stdot`');
    assert.equal(typo.help, 'did you mean `stdout`?');
    const bare = findProblem(
      problemsOf('proxy: {access_log: access.log}\n'),
      'ZT_CONFIG_INVALID_VALUE',
      'proxy.access_log',
    );
    assert.match(bare.help ?? '', /write `\.\/access\.log`/);
  });

  test('unknown keys, with did you mean, in every new map', () => {
    const text = [
      'proxy:', // 1
      '  drain_timout: 5s', // 2
      '  decision_cache: {max_entry: 5}', // 3
      'pki:', // 4
      '  svid_tll: 1h', // 5
      'devices:', // 6
      '  posture_tll: 5m', // 7
      'proxi: {}', // 8
      route(['preserve_hosts: true', 'tls: {server_nam: a.internal}']), // 9-13
    ].join('\n');
    const problems = problemsOf(text);
    const unknown = (path: string, near: string, line: number, col: number): void => {
      const p = findProblem(problems, 'ZT_CONFIG_UNKNOWN_KEY', path);
      assert.equal(p.help, `did you mean \`${near}\`?`, path);
      assertAt(p, line, col);
    };
    unknown('proxy.drain_timout', 'drain_timeout', 2, 3);
    unknown('proxy.decision_cache.max_entry', 'max_entries', 3, 20);
    unknown('pki.svid_tll', 'svid_ttl', 5, 3);
    unknown('devices.posture_tll', 'posture_ttl', 7, 3);
    unknown('proxi', 'proxy', 8, 1);
    unknown('routes[0].preserve_hosts', 'preserve_host', 13, 5);
    unknown('routes[0].tls.server_nam', 'server_name', 14, 11);
    assert.equal(problems.length, 7, show(problems));
  });

  test('route tls: a certificate without its key, and the reverse', () => {
    const certOnly = findProblem(
      problemsOf(route(['tls: {cert_file: client.pem}'])),
      'ZT_CONFIG_MISSING_KEY',
      'routes[0].tls.key_file',
    );
    assert.equal(certOnly.message, '`cert_file` is set without `key_file`');
    assert.match(certOnly.help ?? '', /add `key_file`, or remove `cert_file`/);
    assertAt(certOnly, 5, 10); // the `tls` map: the missing key has no position
    const keyOnly = findProblem(
      problemsOf(route(['tls:', '  key_file: client.key'])),
      'ZT_CONFIG_MISSING_KEY',
      'routes[0].tls.cert_file',
    );
    assert.equal(keyOnly.message, '`key_file` is set without `cert_file`');
    assertAt(keyOnly, 5, 5); // a block map is located at its key
  });

  test('route tls on a plain http upstream is an error, at `tls`', () => {
    const problems = problemsOf(route(['tls: {ca_file: /ca.pem}'], 'http://127.0.0.1:9000'));
    const p = findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'routes[0].tls');
    assert.equal(
      p.message,
      '`tls` applies to an `https://` upstream, and `to` is `http://127.0.0.1:9000`',
    );
    assert.match(p.help ?? '', /`https:\/\/127\.0\.0\.1:9000`.*or remove `tls`/);
    assertAt(p, 5, 10);
    assert.equal(problems.length, 1, show(problems));
  });

  test('route tls: server_name is a DNS name; wrong types', () => {
    const ip = findProblem(
      problemsOf(route(['tls: {server_name: 10.0.0.7}'])),
      'ZT_CONFIG_INVALID_VALUE',
      'routes[0].tls.server_name',
    );
    assert.match(ip.message, /must be a DNS name, got the address `10\.0\.0\.7`/);
    findProblem(
      problemsOf(route(['tls: {server_name: "app internal"}'])),
      'ZT_CONFIG_INVALID_VALUE',
      'routes[0].tls.server_name',
    );
    const problems = problemsOf(route(['preserve_host: "yes"', 'tls: [ca.pem]']));
    findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'routes[0].preserve_host');
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_WRONG_TYPE', 'routes[0].tls').message,
      'expected a map, got a list',
    );
  });

  test('pki: trust domain form, lifetimes within what the CA issues', () => {
    const text = [
      'pki:',
      '  trust_domain: Example.org',
      '  server_cert_ttl: 400d',
      '  device_cert_ttl: 30s',
      '  svid_ttl: 2d',
      '',
    ].join('\n');
    const problems = problemsOf(text);
    assert.match(
      findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'pki.trust_domain').message,
      /^expected a SPIFFE trust domain: lower-case letters/,
    );
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'pki.server_cert_ttl').message,
      'expected a duration of at most 397d, got `400d`',
    );
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'pki.device_cert_ttl').message,
      'expected a duration of at least 1m, got `30s`',
    );
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'pki.svid_ttl').message,
      'expected a duration of at most 1d, got `2d`',
    );
    findProblem(
      problemsOf('pki: {trust_domain: ""}\n'),
      'ZT_CONFIG_INVALID_VALUE',
      'pki.trust_domain',
    );
    findProblem(problemsOf('pki: {svid_ttl: 1}\n'), 'ZT_CONFIG_WRONG_TYPE', 'pki.svid_ttl');
  });

  test('devices: the section is checked by the config loader, at each line', () => {
    const text = [
      'devices:', // 1
      '  report_interval: 1s', // 2
      '  history: 0', // 3
      '  enroll_code_ttl: 2d', // 4
      '  tiers:', // 5
      '    high: {posture: {os_patch_age_days: {min: 30, max: 7}}}', // 6
      '  webhooks:', // 7
      '    - {name: Intune, secret_file: /s, device: {pointer: id}, map: {}}', // 8
      '',
    ].join('\n');
    const problems = problemsOf(text);
    assertAt(findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'devices.report_interval'), 2, 20);
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'devices.history');
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'devices.enroll_code_ttl');
    const range = findProblem(
      problems,
      'ZT_CONFIG_INVALID_VALUE',
      'devices.tiers.high.posture.os_patch_age_days',
    );
    assert.equal(range.message, 'the range is empty (`min` 30 > `max` 7)');
    assertAt(range, 6, 41);
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'devices.webhooks[0].name');
    findProblem(problems, 'ZT_CONFIG_INVALID_VALUE', 'devices.webhooks[0].device.pointer');
    assert.equal(problems.length, 6, show(problems));
  });

  test('messages never include a raw zod text', () => {
    const text = [
      'proxy: {max_request_body: [1], decision_cache: {ttl: soon}, trusted_proxies: [{}]}',
      'pki: {trust_domain: 5}',
      'devices: {tiers: {high: {posture: {x: {in: []}}}}, webhooks: [{}]}',
      route(['tls: {cert_file: 5}']),
    ].join('\n');
    for (const p of problemsOf(text)) {
      assert.doesNotMatch(
        p.message,
        /Invalid input|Expected|Unrecognized|Too small/,
        formatProblem(p),
      );
    }
  });
});

describe('environment overrides of the new keys', () => {
  test('ZTGATE_PROXY_DRAIN_TIMEOUT and friends win over the file', () => {
    const { config, locate } = load('proxy: {drain_timeout: 5s}\n', {
      ZTGATE_PROXY_DRAIN_TIMEOUT: '30s',
      ZTGATE_PROXY_MAX_REQUEST_BODY: '1048576',
      ZTGATE_PROXY_DECISION_CACHE_TTL: '2s',
      ZTGATE_PROXY_ACCESS_LOG: 'off',
      ZTGATE_PKI_TRUST_DOMAIN: 'corp.example',
      ZTGATE_DEVICES_HISTORY: '50',
    });
    assert.equal(config.proxy.drain_timeout, '30s');
    assert.equal(config.proxy.max_request_body, 1_048_576);
    assert.deepEqual(config.proxy.decision_cache, { max_entries: 10_000, ttl: '2s' });
    assert.equal(config.proxy.access_log, 'off');
    assert.equal(config.pki.trust_domain, 'corp.example');
    assert.equal(config.devices.history, 50);
    assert.equal(locate(['proxy', 'drain_timeout'])?.env, 'ZTGATE_PROXY_DRAIN_TIMEOUT');
  });

  test('a size from the environment is read like one from the file', () => {
    const { config } = load('', { ZTGATE_PROXY_MAX_REQUEST_BODY: '64MiB' });
    assert.equal(config.proxy.max_request_body, 64 * 1024 * 1024);
  });

  test('a bad value is located at its variable', () => {
    const problems = problemsOf('', {
      env: { ZTGATE_PROXY_DRAIN_TIMEOUT: 'soon', ZTGATE_PROXY_MAX_REQUEST_BODY: '10 megs' },
    });
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_DURATION', 'proxy.drain_timeout').at?.env,
      'ZTGATE_PROXY_DRAIN_TIMEOUT',
    );
    assert.equal(
      findProblem(problems, 'ZT_CONFIG_INVALID_SIZE', 'proxy.max_request_body').at?.env,
      'ZTGATE_PROXY_MAX_REQUEST_BODY',
    );
  });

  test('the cache ttl cannot be set when the file turns the cache off', () => {
    const problems = problemsOf('proxy: {decision_cache: false}\n', {
      env: { ZTGATE_PROXY_DECISION_CACHE_TTL: '5s' },
    });
    const p = findProblem(problems, 'ZT_CONFIG_ENV_INVALID', 'proxy.decision_cache.ttl');
    assert.equal(p.at?.env, 'ZTGATE_PROXY_DECISION_CACHE_TTL');
  });

  test('a misspelt variable gets a did you mean', () => {
    const { problems } = load('', { ZTGATE_PROXY_DRAIN_TIMOUT: '5s' });
    assert.equal(problems[0]?.code, 'ZT_CONFIG_ENV_UNKNOWN');
    assert.equal(problems[0]?.help, 'did you mean `ZTGATE_PROXY_DRAIN_TIMEOUT`?');
  });
});

describe('file keys inside lists', { skip: process.platform === 'win32' }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ztgate-sections-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('readSecrets checks a route’s tls files and a webhook’s secret, at their keys', () => {
    const write = (name: string, mode: number): void => {
      writeFileSync(join(dir, name), 'x');
      chmodSync(join(dir, name), mode);
    };
    write('client.pem', 0o644);
    write('client.key', 0o644); // readable by others: refused
    write('hook.secret', 0o600);
    const text = [
      'devices:',
      '  webhooks:',
      '    - {name: mdm, secret_file: hook.secret, device: {pointer: /id}, map: {}}',
      '    - {name: edr, secret_file: missing.secret, device: {pointer: /id}, map: {}}',
      route(['tls: {cert_file: client.pem, key_file: client.key, ca_file: missing-ca.pem}']),
    ].join('\n');
    const file = join(dir, 'ztgate.yaml');
    const problems = problemsOf(text, { readSecrets: true }, file);
    findProblem(problems, 'ZT_CONFIG_SECRET_PERMISSIONS', 'routes[0].tls.key_file');
    findProblem(problems, 'ZT_CONFIG_SECRET_FILE', 'routes[0].tls.ca_file');
    findProblem(problems, 'ZT_CONFIG_SECRET_FILE', 'devices.webhooks[1].secret_file');
    assert.equal(problems.length, 3, show(problems));
  });
});

describe('runtime helpers', () => {
  test('proxySettings: milliseconds, bytes, the access log target', () => {
    const { config } = load('proxy: {access_log: ./a.log, decision_cache: {ttl: 2s}}\n');
    assert.deepEqual(proxySettings(config.proxy), {
      trustedProxies: [],
      maxBodyBytes: 10_485_760,
      upstreamTimeoutMs: 30_000,
      upstreamMaxFreeSockets: 64,
      clientKeepAliveMs: 65_000,
      drainMs: 10_000,
      tunnelRecheckMs: 60_000,
      decisionCache: { maxEntries: 10_000, ttlMs: 2000 },
      accessLog: { kind: 'file', path: '/etc/ztgate/a.log' },
    });
    const off = load('proxy: {access_log: "off", decision_cache: false}\n').config.proxy;
    assert.deepEqual(proxySettings(off).accessLog, { kind: 'off' });
    assert.equal(proxySettings(off).decisionCache, false);
  });

  test('pkiSettings: the trust domain defaults to the host of public_url', () => {
    const { config } = load('public_url: https://Auth.Example.com:8443\n');
    assert.deepEqual(pkiSettings(config), {
      trustDomain: 'auth.example.com',
      serverCertTtlMs: 30 * 86_400_000,
      deviceCertTtlMs: 30 * 86_400_000,
      svidTtlMs: 3_600_000,
    });
    assert.equal(
      pkiSettings(load('pki: {trust_domain: example.org}\n').config).trustDomain,
      'example.org',
    );
  });
});

describe('agreement with the components', () => {
  test('pki lifetimes: the bounds and defaults are those of the CA', () => {
    const { config } = load('');
    const defaults = pkiSettings(config);
    for (const [key, type, dflt] of [
      ['server_cert_ttl', 'server', defaults.serverCertTtlMs],
      ['device_cert_ttl', 'device', defaults.deviceCertTtlMs],
      ['svid_ttl', 'svid', defaults.svidTtlMs],
    ] as const) {
      assert.equal(PKI_TTL_BOUNDS[key].max, TYPE_LIMITS[type].maxTtlMs, key);
      assert.equal(dflt, TYPE_LIMITS[type].defaultTtlMs, key);
    }
  });

  test('trust domains: the pattern accepts what the CA accepts', () => {
    const pattern = new RegExp(TRUST_DOMAIN_PATTERN);
    const ok = (td: string): boolean => {
      try {
        parseTrustDomain(td);
        return true;
      } catch {
        return false;
      }
    };
    for (const td of ['example.org', 'a', 'td_1-x.y', 'Example.org', 'a:1', 'a/b', '', 'é.org']) {
      assert.equal(pattern.test(td), ok(td), td);
    }
  });
});

describe('the config component imports only shared and zod-only leaves', () => {
  const src = resolve(import.meta.dirname, '..');
  /** Relative imports of a file, resolved to paths under src/. */
  const importsOf = (file: string): string[] => {
    const text = readFileSync(join(src, file), 'utf8');
    const out: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)) {
      const spec = m[1] ?? '';
      out.push(relative(src, resolve(dirname(join(src, file)), spec)).replace(/\.js$/, '.ts'));
    }
    return out;
  };
  const LEAVES = ['pdp/lang/schema.ts', 'pdp/match/ip.ts', 'device/settings-schema.ts'];

  test('src/config (tests aside) reaches outside only into shared and the leaves', () => {
    const files = readdirSync(join(src, 'config')).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    const outside = new Set<string>();
    for (const f of files) {
      for (const dep of importsOf(join('config', f))) {
        if (!dep.startsWith('config/') && !dep.startsWith('shared/')) outside.add(dep);
      }
    }
    assert.deepEqual([...outside].sort(), [...LEAVES].sort());
  });

  test('each leaf imports only zod and src/shared', () => {
    for (const leaf of LEAVES) {
      for (const dep of importsOf(leaf)) assert.ok(dep.startsWith('shared/'), `${leaf}: ${dep}`);
      const text = readFileSync(join(src, leaf), 'utf8');
      for (const m of text.matchAll(/from '([^.'][^']*)'/g))
        assert.equal(m[1], 'zod', `${leaf} imports ${m[1] ?? ''}`);
    }
  });
});
