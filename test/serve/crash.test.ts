/**
 * `kill -9` of the real server under load: the SQLite database is intact (`PRAGMA
 * integrity_check`), the audit chain verifies, and the newest surviving access record is at most
 * about one batch window (100 ms by default) older than the kill. The measured window is printed for
 * docs/performance.md. The server then starts again on the same data directory.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { httpsClient } from '../helpers/https-client.js';
import { startUpstream, type Upstream } from '../pep/helpers/harness.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

describe('kill -9 of ztgate serve under load', { timeout: 90_000 }, () => {
  const files = tempFiles({});
  const cfg = join(files.dir, 'ztgate.yaml');
  let upstream: Upstream;
  let server: RunningZtgate | undefined;
  let port = 0;

  before(async () => {
    upstream = await startUpstream();
    port = await freePort();
    writeFileSync(
      cfg,
      `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${port}
proxy: { access_log: off }
routes:
  - from: https://open.localhost:${port}
    to: http://127.0.0.1:${upstream.port}
    policy: everyone
policies:
  everyone:
    allow:
      - public: true
`,
    );
  });

  after(async () => {
    if (server) {
      server.signal('SIGKILL');
      await server.exited;
    }
    await upstream?.close();
    files.cleanup();
  });

  it('leaves an intact database, a verifying chain and a bounded loss window', async () => {
    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    const get = httpsClient(readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8'));
    let answered = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const r = await get(`https://open.localhost:${port}/item`).catch(() => undefined);
        if (r?.status === 200) answered++;
      }
    };
    const load = Array.from({ length: 8 }, () => worker());
    await new Promise((r) => setTimeout(r, 1_500));
    const killedAt = Date.now();
    server.signal('SIGKILL');
    await server.exited;
    stop = true;
    await Promise.all(load);
    assert.ok(answered > 50, `the server was under load (${answered} answers)`);

    const db = new Database(join(files.dir, 'data', 'ztgate.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const newest = db
        .prepare("SELECT MAX(time) AS t, COUNT(*) AS n FROM audit_records WHERE kind = 'access'")
        .get() as { t: number | null; n: number };
      assert.ok(newest.n > 0, 'records were committed before the kill');
      const lostMs = killedAt - (newest.t ?? 0);
      console.log(
        `# kill -9 under load: ${newest.n} of ${answered} answered requests recorded; newest record ${lostMs} ms before the kill`,
      );
      assert.ok(lostMs < 1_000, `newest record ${lostMs} ms before the kill`);
    } finally {
      db.close();
    }
    const verify = await ztgate(['audit', 'verify', '--config', cfg], { cwd: files.dir });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);

    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    assert.equal((await get(`https://open.localhost:${port}/again`)).status, 200, 'starts again');
  });
});
