/**
 * TEST HELPER: a self-signed P-256 certificate for `localhost`, `*.localhost` and 127.0.0.1, made
 * with the openssl command line (as a user would), and optionally a client CA with one client
 * certificate for device tests. Files go in a temporary directory the caller removes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly cleanup: () => void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function selfSignedLocalhost(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-pep-tls-'));
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1',
    ],
    dir,
  );
  return {
    dir,
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    certFile: join(dir, 'cert.pem'),
    keyFile: join(dir, 'key.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ClientCertificate {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** lower-case hex SHA-256 of the DER certificate */
  readonly fingerprint: string;
}

/** A client CA and one client certificate issued by it (CN=`cn`), in `dir`. */
export function clientCertificate(dir: string, cn: string): ClientCertificate {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'client-ca.key',
      '-out',
      'client-ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=test device CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'client.key',
      '-out',
      'client.csr',
      '-subj',
      `/CN=${cn}`,
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'client.ext'),
    'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'client-ca.pem',
      '-CAkey',
      'client-ca.key',
      '-CAcreateserial',
      '-out',
      'client.pem',
      '-days',
      '2',
      '-extfile',
      'client.ext',
    ],
    dir,
  );
  const fp = execFileSync(
    'openssl',
    ['x509', '-in', 'client.pem', '-noout', '-fingerprint', '-sha256'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  return {
    ca: readFileSync(join(dir, 'client-ca.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'client.pem'), 'utf8'),
    key: readFileSync(join(dir, 'client.key'), 'utf8'),
    fingerprint: (fp.split('=')[1] ?? '').trim().replace(/:/g, '').toLowerCase(),
  };
}
