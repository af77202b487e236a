/** `ztgate policy check|eval|test` through the real program: output, exit codes, no stack traces. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempFiles, ztgate } from '../helpers/ztgate.js';

const config = `# a config with one policy
listen: 127.0.0.1:8443
routes:
  - from: https://app.localhost:8443
    to: http://127.0.0.1:9000
    policy: engineering
policies:
  engineering:
    allow:
      - groups: [engineering]
        mfa: {max_age: 30m}
        device: {managed: true, posture: {disk_encrypted: true, os_patch_age_days: {max: 30}}}
    deny:
      - risk: {min: 70}
`;

const badConfig = `routes:
  - from: https://app.localhost:8443
    to: http://127.0.0.1:9000
    polcy: engineering
policies:
  engineering:
    allow:
      - grups: [engineering]
        source_ip: [10.0.0.1/8]
`;

const input = {
  user: { id: 'u1', email: 'alice@example.com', groups: ['engineering'] },
  session: { id: 's1', mfa: { methods: ['totp'], at: '2026-11-22T10:00:00Z' } },
  device: { id: 'd1', managed: true, posture: { disk_encrypted: true, os_patch_age_days: 3 } },
  request: { method: 'GET', host: 'app.localhost', path: '/x', time: '2026-11-22T10:05:00Z' },
  risk: { score: 12 },
};

const tests = `config: ztgate.yaml
defaults:
  user: {id: u1, email: alice@example.com, groups: [engineering]}
  session: {id: s1, mfa: {methods: [totp], at: "2026-11-22T10:00:00Z"}}
  device: {id: d1, managed: true, posture: {disk_encrypted: true, os_patch_age_days: 3}}
  request: {method: GET, path: /x, time: "2026-11-22T10:05:00Z"}
  risk: {score: 12}
tests:
  - name: engineer on a healthy managed laptop
    policy: engineering
    expect: allow
    rule: allow[0]
  - name: old MFA asks for step-up
    policy: engineering
    input: {request: {time: "2026-11-22T11:00:00Z"}}
    expect: step_up
    reason: mfa-too-old
  - name: high risk is denied
    policy: engineering
    input: {risk: {score: 90}}
    expect: deny
    rule: deny[0]
`;

const files = tempFiles({
  'ztgate.yaml': config,
  'bad.yaml': badConfig,
  'input.json': JSON.stringify(input),
  'tests.yaml': tests,
  'failing-tests.yaml': tests.replace('expect: allow', 'expect: deny'),
});
after(files.cleanup);

const noStack = (text: string) =>
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'no stack trace for a user error');

describe('ztgate CLI basics', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await ztgate(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /policy/);
  });
  it('--version prints the version', async () => {
    const r = await ztgate(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  });
  it('an unknown command is a usage error (exit 2) with a suggestion', async () => {
    const r = await ztgate(['polcy']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /did you mean/i);
  });
});

describe('ztgate policy check', () => {
  it('accepts a valid config', async () => {
    const r = await ztgate(['policy', 'check', files.path('ztgate.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok \(1 policy, 1 route/);
  });
  it('uses $ZTGATE_CONFIG when no file is named', async () => {
    const r = await ztgate(['policy', 'check'], {
      env: { ZTGATE_CONFIG: files.path('ztgate.yaml') },
    });
    assert.equal(r.code, 0, r.stderr);
  });
  it('reports every error with file:line:col and a suggestion, exit 1, no stack trace', async () => {
    const r = await ztgate(['policy', 'check', files.path('bad.yaml')]);
    assert.equal(r.code, 1);
    noStack(r.stderr);
    assert.match(r.stderr, /bad\.yaml:4:5: error ZT_CONFIG_UNKNOWN_KEY: .*`polcy`/);
    assert.match(r.stderr, /did you mean `policy`\?/);
    assert.match(r.stderr, /bad\.yaml:8:9: error ZT_CONFIG_UNKNOWN_KEY: .*`grups`/);
    assert.match(r.stderr, /did you mean `groups`\?/);
  });
  it('prints problems as JSON with --format json', async () => {
    const r = await ztgate(['policy', 'check', files.path('bad.yaml'), '--format', 'json']);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      problems: { code: string; at: { line: number } }[];
    };
    assert.equal(out.ok, false);
    assert.ok(out.problems.some((p) => p.code === 'ZT_CONFIG_UNKNOWN_KEY' && p.at.line === 4));
  });
  it('reports semantic policy errors at their position', async () => {
    const t = tempFiles({
      'c.yaml':
        'policies:\n  p:\n    allow:\n      - groups: [x]\n        source_ip: [10.0.0.1/8]\n',
    });
    after(t.cleanup);
    const r = await ztgate(['policy', 'check', t.path('c.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /c\.yaml:5:21: error ZT_POLICY_INVALID_CIDR/);
  });
  it('reports device settings the posture schema refuses at their position', async () => {
    const t = tempFiles({
      'd.yaml': [
        'devices:',
        '  tiers:',
        '    high: {posture: {Disk-Encrypted: true}}',
        '  webhooks:',
        '    - name: mdm',
        '      secret_file: /s',
        '      device: {pointer: /id}',
        '      map: {firewall: {pointer: /fw, type: boolean}}',
        '',
      ].join('\n'),
    });
    after(t.cleanup);
    const r = await ztgate(['policy', 'check', t.path('d.yaml')]);
    assert.equal(r.code, 1);
    noStack(r.stderr);
    assert.match(
      r.stderr,
      /d\.yaml:3:38: error ZT_DEVICE_SETTINGS_INVALID: `Disk-Encrypted` is not a posture attribute name/,
    );
    assert.match(
      r.stderr,
      /d\.yaml:8:23: error ZT_DEVICE_SETTINGS_INVALID: `firewall` is not a signal attribute/,
    );
  });
  it('a missing file is a clear user error', async () => {
    const r = await ztgate(['policy', 'check', files.path('nope.yaml')]);
    assert.equal(r.code, 1);
    noStack(r.stderr);
    assert.match(r.stderr, /ZT_CONFIG_FILE_UNREADABLE/);
  });
  it('a bad --format is a usage error', async () => {
    const r = await ztgate(['policy', 'check', files.path('ztgate.yaml'), '--format', 'xml']);
    assert.equal(r.code, 2);
  });
});

describe('ztgate policy eval', () => {
  const base = ['policy', 'eval', '--config', files.path('ztgate.yaml'), '--policy', 'engineering'];
  it('prints the decision as JSON', async () => {
    const r = await ztgate([...base, '--input', JSON.stringify(input)]);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as {
      decision: string;
      policy: string;
      rule: string;
      reasons: { code: string }[];
    };
    assert.equal(d.decision, 'allow');
    assert.equal(d.policy, 'engineering');
    assert.equal(d.rule, 'allow[0]');
  });
  it('exits 0 for a deny too, and reads @file and stdin', async () => {
    const denied = { ...input, risk: { score: 95 } };
    const r = await ztgate([...base, '--input', '-'], { stdin: JSON.stringify(denied) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { decision: string }).decision, 'deny');
    const f = await ztgate([...base, '--input', `@${files.path('input.json')}`]);
    assert.equal((JSON.parse(f.stdout) as { decision: string }).decision, 'allow');
  });
  it('--explain adds the trace of every rule', async () => {
    const r = await ztgate([...base, '--input', '{}', '--explain']);
    const d = JSON.parse(r.stdout) as {
      decision: string;
      trace: { rule: string; outcome: string }[];
    };
    assert.equal(d.decision, 'login');
    assert.deepEqual(
      d.trace.map((t) => [t.rule, t.outcome]),
      [
        ['deny[0]', 'unknown'],
        ['allow[0]', 'unknown'],
      ],
    );
  });
  it('prints a readable summary with --format text', async () => {
    const r = await ztgate([...base, '--input', '{}', '--format', 'text']);
    assert.match(
      r.stdout,
      /^login \(policy engineering\)\n {2}user-unauthenticated allow\[0\] groups: you need to sign in/,
    );
  });
  it('malformed input JSON and unknown policies are user errors', async () => {
    const bad = await ztgate([...base, '--input', '{"user":']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ZT_POLICY_EVAL_INPUT/);
    noStack(bad.stderr);
    const arr = await ztgate([...base, '--input', '[]']);
    assert.equal(arr.code, 1);
    const unknown = await ztgate([
      'policy',
      'eval',
      '--config',
      files.path('ztgate.yaml'),
      '--policy',
      'nope',
      '--input',
      '{}',
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /ZT_POLICY_UNKNOWN.*`nope`[\s\S]*engineering/);
  });
  it('a missing --policy is a usage error', async () => {
    const r = await ztgate([
      'policy',
      'eval',
      '--config',
      files.path('ztgate.yaml'),
      '--input',
      '{}',
    ]);
    assert.equal(r.code, 2);
  });
});

describe('ztgate policy test', () => {
  it('passes when every case holds', async () => {
    const r = await ztgate(['policy', 'test', files.path('tests.yaml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 of 3 cases passed/);
  });
  it('fails with the case, its position and the actual decision', async () => {
    const r = await ztgate(['policy', 'test', files.path('failing-tests.yaml')]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /FAIL {2}engineer on a healthy managed laptop \(.*failing-tests\.yaml:9:5\)/,
    );
    assert.match(r.stdout, /expected deny, rule allow\[0\]; got allow, rule allow\[0\]/);
    const json = await ztgate([
      'policy',
      'test',
      files.path('failing-tests.yaml'),
      '--format',
      'json',
    ]);
    assert.equal((JSON.parse(json.stdout) as { failed: number }).failed, 1);
  });
  it('reports a malformed test file', async () => {
    const t = tempFiles({ 't.yaml': 'tests:\n  - name: x\n    policy: p\n    expect: maybe\n' });
    after(t.cleanup);
    const r = await ztgate(['policy', 'test', t.path('t.yaml')]);
    assert.equal(r.code, 1);
    noStack(r.stderr);
    assert.match(r.stderr, /t\.yaml:4:13/);
  });
});
