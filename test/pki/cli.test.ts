/**
 * `ztgate ca init|issue|revoke|list|bundle|rotate` on a real SQLite store: the outputs people and
 * scripts read, the exit codes (0, 1 with one clear message and no stack trace, 2 for usage), and
 * the security-relevant behaviour (0600 keys, refusal of open key files, passphrases on stdin).
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFileP, opensslKeyAndCsr, runCli, tempDir, write } from './helpers.js';

const t = tempDir();
const dataDir = join(t.dir, 'data');
const d = ['--data-dir', dataDir];
let root: string;
let intermediate: string;

function noStack(stderr: string): void {
  assert.ok(!/\n\s+at /.test(stderr), `no stack trace: ${stderr}`);
  assert.ok(!stderr.includes('internal error'), stderr);
}

before(async () => {
  const r = await runCli(['ca', 'init', ...d, '--trust-domain', 'example.org', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    ok: boolean;
    trustDomain: string;
    root: { file: string };
    intermediate: { file: string };
  };
  root = out.root.file;
  intermediate = out.intermediate.file;
});
after(() => t.cleanup());

describe('ztgate ca', () => {
  it('init takes its data directory, trust domain and CRL URL from the config', async () => {
    const c = tempDir();
    try {
      const config = write(
        c.dir,
        'ztgate.yaml',
        'data_dir: ./state\npublic_url: https://auth.corp.example:9443\n',
      );
      const r = await runCli(['ca', 'init', '--config', config]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /created a CA for the trust domain auth\.corp\.example in .*\/state\/pki/,
      );
      assert.match(r.stdout, /CRL URL\s+https:\/\/auth\.corp\.example:9443\/pki\/crl/);
      assert.equal((statSync(join(c.dir, 'state', 'pki')).mode & 0o777).toString(8), '700');
      const again = await runCli(['ca', 'init', '--config', config]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^error ZT_PKI_CA_EXISTS: a CA already exists in/);
      noStack(again.stderr);
    } finally {
      c.cleanup();
    }
  });

  it('init and issue take the trust domain and lifetimes from the config’s pki section', async () => {
    const c = tempDir();
    try {
      const config = write(
        c.dir,
        'ztgate.yaml',
        'data_dir: ./state\npki: {trust_domain: corp.example, svid_ttl: 2h, server_cert_ttl: 7d}\n',
      );
      const init = await runCli(['ca', 'init', '--config', config]);
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stdout, /created a CA for the trust domain corp\.example in /);
      let n = 0;
      const life = async (args: string[]): Promise<number> => {
        const r = await runCli([
          'ca',
          'issue',
          '--config',
          config,
          '--generate-key',
          '--key-out',
          join(c.dir, `k${n++}.pem`),
          '--format',
          'json',
          ...args,
        ]);
        assert.equal(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout) as { notBefore: string; notAfter: string };
        return Date.parse(j.notAfter) - Date.parse(j.notBefore) - 30_000; // minus the backdating
      };
      const svid = ['--type', 'svid', '--spiffe-id', 'spiffe://corp.example/ns/a/sa/b'];
      assert.equal(await life(svid), 2 * 3_600_000);
      assert.equal(await life([...svid, '--ttl', '15m']), 15 * 60_000, '--ttl wins');
      assert.equal(await life(['--type', 'server', '--dns', 'a.localhost']), 7 * 86_400_000);
      assert.equal(
        await life(['--type', 'device', '--device', 'd1', '--user', 'u1']),
        30 * 86_400_000,
      );
    } finally {
      c.cleanup();
    }
  });

  it('issue signs an openssl CSR and prints the chain openssl verifies', async () => {
    const { csrFile } = await opensslKeyAndCsr(t.dir, 'web');
    const r = await runCli([
      'ca',
      'issue',
      ...d,
      '--type',
      'server',
      '--csr',
      csrFile,
      '--dns',
      '*.localhost',
      '--dns',
      'localhost',
      '--ip',
      '127.0.0.1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.match(/-----BEGIN CERTIFICATE-----/g)?.length,
      2,
      'leaf and intermediate',
    );
    const chain = write(t.dir, 'web-chain.pem', r.stdout);
    const { stdout } = await execFileP('openssl', [
      'verify',
      '-CAfile',
      root,
      '-untrusted',
      chain,
      chain,
    ]);
    assert.match(stdout, /OK/);
    const text = (
      await execFileP('openssl', ['x509', '-in', chain, '-noout', '-ext', 'subjectAltName'])
    ).stdout;
    assert.match(text, /DNS:\*\.localhost, DNS:localhost, IP Address:127\.0\.0\.1/);
  });

  it('issue --generate-key writes the key 0600 and the chain to --out; --format json describes it', async () => {
    const key = join(t.dir, 'svid.key');
    const out = join(t.dir, 'svid.pem');
    const r = await runCli([
      'ca',
      'issue',
      ...d,
      '--type',
      'svid',
      '--generate-key',
      '--key-out',
      key,
      '--spiffe-id',
      'spiffe://example.org/ns/ci/sa/runner',
      '--ttl',
      '30m',
      '--out',
      out,
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /generated here: for production, create the key where it is used and send a CSR/,
    );
    const j = JSON.parse(r.stdout) as {
      serial: string;
      type: string;
      subject: string;
      notBefore: string;
      notAfter: string;
      uris: string[];
      keyFile: string;
    };
    assert.equal(j.type, 'svid');
    assert.equal(j.subject, 'spiffe://example.org/ns/ci/sa/runner');
    assert.deepEqual(j.uris, ['spiffe://example.org/ns/ci/sa/runner']);
    assert.equal(Date.parse(j.notAfter) - Date.parse(j.notBefore), 30 * 60_000 + 30_000);
    assert.equal((statSync(key).mode & 0o777).toString(8), '600');
    await execFileP('openssl', ['verify', '-CAfile', root, '-untrusted', intermediate, out]);
    // the key matches the certificate
    const a = (await execFileP('openssl', ['pkey', '-in', key, '-pubout'])).stdout;
    const b = (await execFileP('openssl', ['x509', '-in', out, '-noout', '-pubkey'])).stdout;
    assert.equal(a, b);
  });

  it('issue refuses with one clear message: policy, oversized CSR, bad names, usage', async () => {
    const policy = write(
      t.dir,
      'policy.yaml',
      'requesters:\n  - name: web\n    types: [server]\n    dns: ["*.web.example.org"]\n',
    );
    const { csrFile } = await opensslKeyAndCsr(t.dir, 'p');
    let r = await runCli([
      'ca',
      'issue',
      ...d,
      '--type',
      'server',
      '--csr',
      csrFile,
      '--dns',
      'evil.example.org',
      '--requester',
      'web',
      '--policy',
      policy,
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'error ZT_PKI_NAME_NOT_ALLOWED: the requester `web` may not obtain a certificate for the DNS name `evil.example.org`\n  help: ask for names the issuance policy allows this requester, or change the policy\n',
    );
    r = await runCli([
      'ca',
      'issue',
      ...d,
      '--type',
      'server',
      '--csr',
      csrFile,
      '--dns',
      'a.web.example.org',
      '--requester',
      'web',
      '--policy',
      policy,
    ]);
    assert.equal(r.code, 0, r.stderr);

    const big = join(t.dir, 'big.csr');
    writeFileSync(big, Buffer.alloc(70 * 1024, 0x41));
    r = await runCli([
      'ca',
      'issue',
      ...d,
      '--type',
      'svid',
      '--csr',
      big,
      '--spiffe-id',
      'spiffe://example.org/x',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error ZT_PKI_CSR_TOO_LARGE: the CSR file `.*big\.csr` is 71680 bytes, more than the 64 KiB accepted/,
    );
    noStack(r.stderr);

    const garbage = write(t.dir, 'garbage.csr', `hello\n${readFileSync(csrFile, 'utf8')}`);
    r = await runCli([
      'ca',
      'issue',
      ...d,
      '--type',
      'svid',
      '--csr',
      garbage,
      '--spiffe-id',
      'spiffe://example.org/x',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout) as {
      ok: boolean;
      problems: { code: string; message: string }[];
    };
    assert.equal(j.ok, false);
    assert.equal(j.problems[0]?.code, 'ZT_PKI_CSR_MALFORMED');

    r = await runCli([
      'ca',
      'issue',
      ...d,
      '--type',
      'svid',
      '--csr',
      csrFile,
      '--spiffe-id',
      'spiffe://Example.org/x',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /ZT_PKI_SPIFFE_ID_INVALID: the SPIFFE ID `spiffe:\/\/Example\.org\/x` has upper-case letters in its trust domain/,
    );

    r = await runCli(['ca', 'issue', ...d, '--csr', csrFile]);
    assert.equal(r.code, 2, 'missing --type is a usage error');
    r = await runCli(['ca', 'issue', ...d, '--type', 'svid']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give either `--csr FILE` or `--generate-key`/);
    r = await runCli(['ca', 'issue', ...d, '--type', 'svid', '--csr', csrFile, '--ttl', 'forever']);
    assert.equal(r.code, 2);
  });

  it('list, revoke by serial and by subject, list --revoked', async () => {
    let r = await runCli(['ca', 'list', ...d, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const all = (
      JSON.parse(r.stdout) as { certificates: { serial: string; kind: string; subject: string }[] }
    ).certificates;
    assert.equal(all.filter((c) => c.kind === 'ca').length, 2);
    const web = all.find((c) => c.subject === '*.localhost');
    assert.ok(web);
    r = await runCli(['ca', 'list', ...d]);
    assert.match(r.stdout, /^SERIAL\s+KIND\s+STATUS\s+NOT AFTER\s+SUBJECT\n/);
    assert.match(r.stdout, /server\s+valid\s+\S+\s+\*\.localhost\n/);

    r = await runCli([
      'ca',
      'revoke',
      ...d,
      '--serial',
      web.serial.replace(/(..)(?!$)/g, '$1:').toUpperCase(),
      '--reason',
      'keyCompromise',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`revoked ${web.serial} \\(server, \\*\\.localhost\\): keyCompromise`),
    );
    const crl = await execFileP('openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      join(dataDir, 'pki', 'crl.der'),
      '-noout',
      '-text',
    ]);
    assert.ok(crl.stdout.includes(web.serial.toUpperCase()));

    r = await runCli([
      'ca',
      'revoke',
      ...d,
      '--subject',
      'spiffe://example.org/ns/ci/sa/runner',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { revoked: unknown[] }).revoked.length, 1);

    r = await runCli(['ca', 'list', ...d, '--revoked', '--format', 'json']);
    assert.equal((JSON.parse(r.stdout) as { certificates: unknown[] }).certificates.length, 2);
    r = await runCli(['ca', 'list', ...d, '--type', 'svid']);
    assert.match(r.stdout, /revoked \(unspecified\)/);

    r = await runCli(['ca', 'revoke', ...d, '--serial', 'abcdef']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error ZT_PKI_CERT_NOT_FOUND: no certificate has the serial `abcdef`/);
    r = await runCli(['ca', 'revoke', ...d]);
    assert.equal(r.code, 2);
    r = await runCli(['ca', 'revoke', ...d, '--serial', 'ab', '--reason', 'because']);
    assert.equal(r.code, 2);
  });

  it('bundle prints the SPIFFE bundle, or the root as PEM', async () => {
    let r = await runCli(['ca', 'bundle', ...d]);
    assert.equal(r.code, 0, r.stderr);
    const b = JSON.parse(r.stdout) as {
      keys: { use: string; x5c: string[] }[];
      spiffe_sequence: number;
      spiffe_refresh_hint: number;
    };
    assert.equal(b.keys[0]?.use, 'x509-svid');
    assert.equal(b.spiffe_sequence, 1);
    r = await runCli(['ca', 'bundle', ...d, '--format', 'pem']);
    assert.equal(r.stdout, readFileSync(root, 'utf8'));
  });

  it('refuses a key file that group or others can read', async () => {
    const key = join(dataDir, 'pki', 'intermediate.key');
    chmodSync(key, 0o644);
    try {
      const r = await runCli([
        'ca',
        'issue',
        ...d,
        '--type',
        'svid',
        '--generate-key',
        '--key-out',
        join(t.dir, 'never.key'),
        '--spiffe-id',
        'spiffe://example.org/x',
      ]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^error ZT_PKI_KEY_PERMISSIONS: the key file `.*intermediate\.key` has mode 0644: group or others can access it\n {2}help: restrict it to its owner: `chmod 600 /,
      );
      noStack(r.stderr);
    } finally {
      chmodSync(key, 0o600);
    }
  });

  it('a passphrase from standard input protects the root key; rotate needs it', async () => {
    const c = tempDir();
    try {
      const dd = ['--data-dir', join(c.dir, 'data')];
      let r = await runCli(
        ['ca', 'init', ...dd, '--trust-domain', 'example.org', '--root-passphrase-file', '-'],
        { stdin: 'a long enough passphrase\n' },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /root\.key \(0600, encrypted\)/);
      r = await runCli(['ca', 'rotate', ...dd]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error ZT_PKI_PASSPHRASE_REQUIRED/);
      r = await runCli(['ca', 'rotate', ...dd, '--root-passphrase-file', '-'], {
        stdin: 'not the passphrase\n',
      });
      assert.match(r.stderr, /^error ZT_PKI_PASSPHRASE_WRONG/);
      r = await runCli(['ca', 'rotate', ...dd, '--root-passphrase-file', '-', '--format', 'json'], {
        stdin: 'a long enough passphrase\n',
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        (JSON.parse(r.stdout) as { intermediate: { serial: string } }).intermediate.serial,
        /^[0-9a-f]{32}$/,
      );
    } finally {
      c.cleanup();
    }
  });

  it('says so when there is no CA', async () => {
    const r = await runCli(['ca', 'list', '--data-dir', join(t.dir, 'empty')]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error ZT_PKI_CA_NOT_FOUND: there is no CA in `.*empty`\n {2}help: create one with `ztgate ca init`/,
    );
  });
});
