/**
 * `ztgate device list|show|revoke` and `ztgate agent enroll|run` through a commander program
 * holding only these commands (src/cli/main.ts wires them into the real program).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerAgentCommands, type AgentCliDeps } from '../../src/cli/agent.js';
import { registerDeviceCommands, type DeviceCliDeps } from '../../src/cli/device.js';
import { ExitRequest, reportError, type Io } from '../../src/cli/output.js';
import { InMemoryEnrollmentCodeStore, issueEnrollmentCode } from '../../src/device/enroll/codes.js';
import { DeviceEnrollment } from '../../src/device/enroll/enroll.js';
import { DeviceEndpoints } from '../../src/device/http/endpoints.js';
import { writePostureDocument } from '../../src/device/posture/document.js';
import { PostureService } from '../../src/device/report/posture-service.js';
import { resolveDeviceSettings } from '../../src/device/settings.js';
import { openStore } from '../../src/store/open.js';
import { tempDir } from '../../src/store/testing.js';
import {
  createTestCa,
  fakeContext,
  FakeIssuer,
  fixture,
  startHttpsServer,
  type TestServer,
} from './helpers.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(
  argv: string[],
  deps: { device?: DeviceCliDeps; agent?: AgentCliDeps } = {},
  stdin = '',
): Promise<Run> {
  const io: Io & { out: string; err: string } = {
    out: '',
    err: '',
    stdout: (s) => void (io.out += s),
    stderr: (s) => void (io.err += s),
    stdin: () => Promise.resolve(stdin),
  };
  const program = new Command('ztgate')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerDeviceCommands(program, io, deps.device);
  registerAgentCommands(program, io, deps.agent);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, out: io.out, err: io.err };
  } catch (err) {
    if (err instanceof ExitRequest) return { code: err.exitCode, out: io.out, err: io.err };
    if (err instanceof CommanderError)
      return { code: err.exitCode === 0 ? 0 : 2, out: io.out, err: io.err };
    return { code: reportError(err, io, 'text'), out: io.out, err: io.err };
  }
}

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

describe('ztgate device', () => {
  const dir = tempDir('ztgate-cli-');
  const config = join(dir, 'ztgate.yaml');
  const settings = resolveDeviceSettings({
    tiers: { high: { managed: true, posture: { firewall: true, disk_encrypted: true } } },
  });
  const deps: DeviceCliDeps = { now: () => NOW, settings: () => settings };

  before(async () => {
    writeFileSync(config, 'data_dir: ./data\npolicies: {}\n');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const store = await openStore({ kind: 'sqlite', dataDir: join(dir, 'data') });
    await store.users.create({ id: 'u1', email: 'alice@example.com', at: NOW });
    await store.devices.create({
      id: 'dev-a',
      userId: 'u1',
      hostname: 'alice-laptop',
      os: 'linux',
      enrolledAt: NOW - 86_400_000,
      state: 'active',
      certificateSerial: '0a',
    });
    await store.devices.create({
      id: 'dev-b',
      userId: 'u1',
      hostname: 'evil\u001b[31m',
      os: 'linux',
      enrolledAt: NOW,
      state: 'pending',
    });
    const doc = {
      agent: {
        seq: 1,
        sentAt: NOW - 60_000,
        receivedAt: NOW - 60_000,
        attributes: { firewall: true, disk_encrypted: true },
        unavailable: { screen_lock: 'no desktop' },
      },
      signals: {},
    };
    await store.devices.reportPosture('dev-a', writePostureDocument(doc), NOW - 60_000);
    await store.close();
  });

  test('list: without injected settings, the tiers come from the config’s devices section', async () => {
    const withTiers = join(dir, 'tiers.yaml');
    writeFileSync(
      withTiers,
      'data_dir: ./data\ndevices:\n  tiers:\n    strict: {managed: true, posture: {firewall: true}}\n',
    );
    const r = await run(['device', 'list', '--config', withTiers, '--format', 'json'], {
      device: { now: () => NOW },
    });
    assert.equal(r.code, 0, r.err);
    const parsed = JSON.parse(r.out) as { devices: { id: string; tier: string | null }[] };
    assert.equal(parsed.devices.find((d) => d.id === 'dev-a')?.tier, 'strict');

    const bad = join(dir, 'bad-tiers.yaml');
    writeFileSync(bad, 'data_dir: ./data\ndevices:\n  tiers:\n    x: {posture: {Not-A-Name: 1}}\n');
    const refused = await run(['device', 'list', '--config', bad], { device: { now: () => NOW } });
    assert.equal(refused.code, 1);
    assert.match(refused.err, /ZT_DEVICE_SETTINGS_INVALID/);
  });

  test('list: a table, or JSON with the tier and freshness; filters', async () => {
    const text = await run(['device', 'list', '--config', config], { device: deps });
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^ID\s+USER\s+HOSTNAME/);
    assert.match(
      text.out,
      /dev-a\s+u1\s+alice-laptop\s+linux\s+active\s+high\s+2026-11-22T09:59:00.000Z\s+fresh/,
    );
    assert.ok(!text.out.includes('\u001b'), 'control characters are not printed');
    const json = await run(
      ['device', 'list', '--config', config, '--state', 'active', '--format', 'json'],
      { device: deps },
    );
    const parsed = JSON.parse(json.out) as {
      devices: { id: string; tier: string; stale: boolean }[];
    };
    assert.deepEqual(
      parsed.devices.map((d) => [d.id, d.tier, d.stale]),
      [['dev-a', 'high', false]],
    );
    assert.equal(
      (await run(['device', 'list', '--config', config, '--state', 'lost'], { device: deps })).code,
      2,
    );
  });

  test('show: facts, unreported attributes with reasons, tiers; an unknown id is exit 1', async () => {
    const text = await run(['device', 'show', 'dev-a', '--config', config], { device: deps });
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /tier\s+high/);
    assert.match(text.out, /screen_lock: no desktop/);
    assert.match(text.out, /high: meets/);
    const later = await run(['device', 'show', 'dev-a', '--config', config, '--format', 'json'], {
      device: { ...deps, now: () => NOW + 3_600_000 },
    });
    const d = JSON.parse(later.out) as {
      stale: boolean;
      tier: unknown;
      tiers: { missing: string[] }[];
    };
    assert.equal(d.stale, true);
    assert.equal(d.tier, null);
    assert.deepEqual(d.tiers[0]?.missing, ['`firewall` is unknown', '`disk_encrypted` is unknown']);
    const missing = await run(['device', 'show', 'dev-zzz', '--config', config]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /ZT_DEVICE_NOT_FOUND/);
  });

  test('revoke: the device is revoked once; again is not an error', async () => {
    const first = await run(['device', 'revoke', 'dev-a', '--config', config, '--format', 'json'], {
      device: deps,
    });
    assert.equal(first.code, 0, first.err);
    const outcome = JSON.parse(first.out) as {
      changed: boolean;
      event_published: boolean;
      device: { state: string };
    };
    assert.equal(outcome.changed, true);
    assert.equal(outcome.event_published, true);
    assert.equal(outcome.device.state, 'revoked');
    const again = await run(['device', 'revoke', 'dev-a', '--config', config], { device: deps });
    assert.equal(again.code, 0);
    assert.match(again.out, /already revoked/);
    assert.equal((await run(['device', 'revoke', '--config', config])).code, 2);
  });
});

describe('ztgate agent', () => {
  let server: TestServer;
  let caFile: string;
  const codes = new InMemoryEnrollmentCodeStore();
  const settings = resolveDeviceSettings({ tiers: { high: { posture: { firewall: true } } } });
  const agentDeps: AgentCliDeps = {
    platform: 'linux',
    context: (edr) => ({
      ...fakeContext({
        files: { '/etc/os-release': fixture('linux/os-release-debian.txt') },
        commands: { 'nft list ruleset': fixture('linux/nft-inet-drop.txt') },
      }),
      edrProcesses: edr,
    }),
  };
  let closeStore: () => Promise<void>;

  before(async () => {
    const ca = await createTestCa();
    caFile = join(tempDir(), 'ca.pem');
    writeFileSync(caFile, ca.pem);
    const store = await openStore({ kind: 'sqlite', dataDir: join(tempDir(), 'data') });
    closeStore = () => store.close();
    await store.users.create({ id: 'u1', email: 'alice@example.com', at: Date.now() });
    const enrollment = new DeviceEnrollment({
      devices: store.devices,
      users: store.users,
      codes,
      issuer: new FakeIssuer(ca),
    });
    const posture = new PostureService({ devices: store.devices, settings });
    const endpoints = new DeviceEndpoints({ enrollment, posture });
    server = await startHttpsServer(ca, async (req, res) => void (await endpoints.route(req, res)));
  });

  after(async () => {
    await server.close();
    await closeStore();
  });

  test('enroll (code from standard input), then run --once and --dry-run', async () => {
    const dir = join(tempDir(), 'agent');
    const { code } = await issueEnrollmentCode(codes, { id: 'u1' }, { now: Date.now() });
    const enrolled = await run(
      [
        'agent',
        'enroll',
        '--server',
        server.url,
        '--code',
        '-',
        '--ca',
        caFile,
        '--dir',
        dir,
        '--format',
        'json',
      ],
      { agent: agentDeps },
      `${code}\n`,
    );
    assert.equal(enrolled.code, 0, enrolled.err);
    assert.equal((JSON.parse(enrolled.out) as { userId: string }).userId, 'u1');
    const again = await run(
      ['agent', 'enroll', '--server', server.url, '--code', code, '--ca', caFile, '--dir', dir],
      { agent: agentDeps },
    );
    assert.equal(again.code, 1);
    assert.match(again.err, /ZT_DEVICE_AGENT_FILES/);

    const once = await run(['agent', 'run', '--dir', dir, '--once', '--format', 'json'], {
      agent: agentDeps,
    });
    assert.equal(once.code, 0, once.err);
    const result = JSON.parse(once.out) as {
      sent: boolean;
      tier: string;
      report: { attributes: Record<string, unknown>; unavailable: Record<string, string> };
    };
    assert.equal(result.sent, true);
    assert.equal(result.tier, 'high');
    assert.equal(result.report.attributes.firewall, true);
    assert.ok(result.report.unavailable.disk_encrypted);

    const dry = await run(['agent', 'run', '--dir', dir, '--dry-run'], { agent: agentDeps });
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /collected \(not sent\)/);
    assert.match(dry.out, /firewall = true/);
  });

  test('usage and user errors: exit 2 and exit 1 with one message', async () => {
    assert.equal(
      (await run(['agent', 'enroll', '--server', server.url], { agent: agentDeps })).code,
      2,
    );
    const http = await run(
      [
        'agent',
        'enroll',
        '--server',
        'http://example.com',
        '--code',
        'X',
        '--dir',
        join(tempDir(), 'x'),
      ],
      { agent: agentDeps },
    );
    assert.equal(http.code, 1);
    assert.match(http.err, /https:\/\//);
    const notEnrolled = await run(['agent', 'run', '--dir', join(tempDir(), 'empty'), '--once'], {
      agent: agentDeps,
    });
    assert.equal(notEnrolled.code, 1);
    assert.match(notEnrolled.err, /ZT_DEVICE_AGENT_NOT_ENROLLED/);
    assert.ok(!/\n\s+at /.test(notEnrolled.err), 'no stack trace');
    assert.equal((await run(['agent', 'run', '--interval', '1s'], { agent: agentDeps })).code, 2);
    const badCode = await run(
      [
        'agent',
        'enroll',
        '--server',
        server.url,
        '--code',
        'AAAAA-AAAAA-AAAAA-AAAAA',
        '--ca',
        caFile,
        '--dir',
        join(tempDir(), 'y'),
      ],
      { agent: agentDeps },
    );
    assert.equal(badCode.code, 1);
    assert.match(badCode.err, /ZT_DEVICE_SERVER_REFUSED.*ZT_DEVICE_ENROLL_CODE_INVALID/);
  });
});
