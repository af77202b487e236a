/**
 * The composition root: `ztgate serve` builds every component from one config and connects them.
 * Nothing else in the code base picks a store driver, opens a listener or subscribes to events.
 *
 * Start order (each step needs the ones before it):
 *   config -> policies (the PDP) -> store -> event bus -> audit writer -> CA -> listener
 *   certificate -> identity -> device trust -> assertion keys -> proxy (the PEP) -> timers.
 * A step that fails stops the start with a coded error and closes what was opened.
 *
 * Stop order (SIGTERM): the proxy drains (no new requests, running ones finish, tunnels cut),
 * then the audit writer drains every record, then the bus and the store close. Nothing accepted is
 * lost. SIGHUP reloads the config file: policies and routes are swapped in without dropping a
 * connection; a config with errors is refused and the running one stays.
 */
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { rootCertificates } from 'node:tls';
import { createAdminApi } from '../../admin/api.js';
import { sessionResolver } from '../../admin/adapters.js';
import { ConfigManager, type ConfigState } from '../../admin/config/config-manager.js';
import { createWebUi } from '../../admin/console/web-ui.js';
import { AuditWriter } from '../../audit/writer.js';
import { WorkerAuditTarget } from '../../audit/worker-target.js';
import { loadAuditSigningKey, defaultAuditKeyPath } from '../../audit/signing-key.js';
import { applyRetention } from '../../audit/retention.js';
import { AuditStream } from '../../audit/sinks/stream.js';
import { SyslogSink } from '../../audit/sinks/syslog.js';
import { WebhookSink } from '../../audit/sinks/webhook.js';
import { loadConfigFile, type LoadedConfig } from '../../config/load.js';
import { parseListen } from '../../config/check.js';
import { pkiSettings, proxySettings, type AccessLogTarget } from '../../config/runtime.js';
import type { Config } from '../../config/schema.js';
import { readSecretFile } from '../../config/secrets.js';
import { DeviceEnrollment } from '../../device/enroll/enroll.js';
import { DeviceEndpoints } from '../../device/http/endpoints.js';
import { PostureService } from '../../device/report/posture-service.js';
import { StalenessMonitor } from '../../device/report/staleness.js';
import { SignalWebhooks } from '../../device/report/webhook.js';
import { checkDeviceSettings, type DeviceTrustSettings } from '../../device/settings.js';
import { createIdentity, type Identity } from '../../identity/identity.js';
import { caFetch } from '../../identity/rp/ca-fetch.js';
import { loadIdentityKey } from '../../identity/secret-box.js';
import { buildEngine, type PolicyEngine } from '../../pdp/index.js';
import { AssertionSigner } from '../../pep/assertion/assertion.js';
import { KeyRing } from '../../pep/assertion/key-ring.js';
import { auditWriterPort } from '../../pep/audit-port.js';
import type { ListenAddress, ProxyRoute, UpstreamTls } from '../../pep/options.js';
import { lineBuffer } from '../../pep/observe/line-buffer.js';
import { createProxy, type Proxy } from '../../pep/proxy.js';
import { createTrustBundleHandler } from '../../pki/bundle.js';
import { initCa } from '../../pki/ca/init.js';
import { IssuancePolicy } from '../../pki/ca/policy.js';
import { CertificateManager, pkiServerCertificates } from '../../pki/ca/rotation.js';
import { caExists } from '../../pki/ca/store-files.js';
import { createCrlHandler } from '../../pki/crl/handler.js';
import { Pki } from '../../pki/pki.js';
import {
  ProblemsError,
  ZtError,
  formatProblem,
  hasErrors,
  type ErrorCode,
  type Problem,
} from '../../shared/errors.js';
import { parseDuration } from '../../shared/duration.js';
import { openEventBus, type EventBus, type EventEnvelope } from '../../store/events/index.js';
import { openStore, storeOptionsFromUrl, type StoreOptions } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { clientCertDeviceId, clientCertFingerprint } from './client-cert.js';
import { sessionRef } from '../../identity/session/session-manager.js';
import { serverDevicePort, type ServerDevicePort } from './device-port.js';
import { pkiDeviceIssuer } from './device-issuer.js';
import { serverIdentityPort, type ServerIdentityPort } from './identity-port.js';
import { settingsKeyRingStorage } from './key-storage.js';
import { createServeLog, describeError, type ServeLog } from './log.js';
import { publicRoutes } from './public-routes.js';

export interface ServeOptions {
  readonly configPath: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log?: ServeLog;
  /** overrides `listen` (tests: port 0) */
  readonly listen?: ListenAddress;
  readonly now?: () => number;
  /**
   * the change-event bus for a SQLite store (cluster workers relay events through the primary);
   * PostgreSQL always uses LISTEN/NOTIFY
   */
  readonly eventBus?: () => EventBus;
  /** the code of the "started" log line (`ZT_SERVE_WORKER_STARTED` in a cluster worker) */
  readonly startedCode?: string;
}

/** A config file checked the way the server needs it: schema, policies, device settings. */
export interface ServeConfig {
  readonly loaded: LoadedConfig;
  readonly engine: PolicyEngine<ProxyRoute>;
  readonly devices: DeviceTrustSettings;
  readonly warnings: readonly Problem[];
}

/** Loads and checks the config; throws ProblemsError (file:line:col) when anything is wrong. */
export function loadServeConfig(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  previous?: PolicyEngine<ProxyRoute>,
): ServeConfig {
  const loaded = loadConfigFile(path, { env, readSecrets: true });
  const devices = checkDeviceSettings(loaded.config.devices, loaded.locate);
  const built = buildEngine<ProxyRoute>(
    { policies: loaded.config.policies, routes: loaded.config.routes },
    loaded.locate,
    previous?.policies,
  );
  const problems = [...loaded.problems, ...built.problems, ...devices.problems];
  if (hasErrors(problems) || devices.settings === undefined) throw new ProblemsError(problems);
  return { loaded, engine: built.engine, devices: devices.settings, warnings: problems };
}

/** Creates the internal CA on first start (the trust domain from `pki:` or public_url). */
export async function ensureCa(config: Config, store: Store, log: ServeLog): Promise<void> {
  if (caExists(config.data_dir)) return;
  const created = await initCa({
    dataDir: config.data_dir,
    trustDomain: pkiSettings(config).trustDomain,
    crlUrl: `${new URL(config.public_url).origin}/pki/crl`,
    store: store.certificates,
  });
  log.info('ZT_PKI_CA_CREATED', `created the internal CA in ${created.dir}`, {
    trust_domain: created.trustDomain,
  });
}

export interface RunningServer {
  readonly config: Config;
  /** the port the TLS listener is bound to */
  readonly port: number;
  readonly metricsPort: number | undefined;
  /** the internal CA's root, PEM: what clients trust */
  readonly caPem: string;
  readonly store: Store;
  readonly events: EventBus;
  readonly proxy: Proxy;
  readonly identity: Identity;
  /** reads the config file again and swaps policies and routes in; throws ProblemsError */
  reload(): Promise<{ readonly routes: number; readonly policies: number }>;
  /** drains and stops everything; resolves when every audit record is written */
  close(drainMs?: number): Promise<void>;
}

/** Durations in the config are validated at load; a missing one means the default. */
function ms(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : (parseDuration(text) ?? fallback);
}

function listenOf(text: string | undefined): ListenAddress | undefined {
  if (text === undefined) return undefined;
  const l = parseListen(text);
  if ('error' in l) throw new ZtError('ZT_CONFIG_INVALID_LISTEN', l.error, { help: l.help });
  return l;
}

/** The host names the listener certificate must cover: the public host and every route host. */
export function certificateNames(
  config: Config,
  listen: ListenAddress,
): { dns: string[]; ips: string[] } {
  const dns = new Set<string>();
  const ips = new Set<string>();
  const add = (hostname: string): void => {
    const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (isIP(h)) ips.add(h);
    else dns.add(h);
  };
  add(new URL(config.public_url).hostname);
  for (const r of config.routes) add(new URL(r.from).hostname);
  if (listen.host !== '0.0.0.0' && listen.host !== '::' && isIP(listen.host)) ips.add(listen.host);
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

/**
 * Resolves `*.localhost` to the loopback address without asking DNS (RFC 6761 says such names are
 * loopback; browsers do the same), so that ztgate can call its own public URL in the quickstart.
 */
export const localhostLookup: LookupFunction = (hostname, options, callback) => {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [
        { address: '127.0.0.1', family: 4 },
      ]);
    } else {
      callback(null, '127.0.0.1', 4);
    }
    return;
  }
  dnsLookup(hostname, options, callback);
};

function syslogTarget(address: string): { host: string; port: number } {
  const l = parseListen(address);
  if ('error' in l)
    throw new ZtError('ZT_CONFIG_INVALID_LISTEN', `audit.syslog.address: ${l.error}`);
  return l;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const log = o.log ?? createServeLog();
  const now = o.now ?? Date.now;
  const env = o.env ?? process.env;
  const cleanup: (() => Promise<void> | void)[] = [];
  const undo = async (): Promise<void> => {
    for (const f of cleanup.reverse()) {
      try {
        await f();
      } catch {
        // best effort: the start already failed with the error that matters
      }
    }
  };

  const loadAll = (): ServeConfig => {
    const loaded = loadServeConfig(o.configPath, env, engineRef);
    for (const p of loaded.warnings) log.warn(p.code, formatProblem(p));
    return loaded;
  };
  let engineRef: PolicyEngine<ProxyRoute> | undefined;

  try {
    const first = loadAll();
    let config = first.loaded.config;
    engineRef = first.engine;
    const listen = o.listen ?? listenOf(config.listen) ?? { host: '127.0.0.1', port: 8443 };
    const publicUrl = new URL(config.public_url).origin;
    mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });

    // --- store and events
    const storeOptions: StoreOptions = storeOptionsFromUrl(config.store, config.data_dir, {
      create: true,
    });
    const store = await openStore(storeOptions);
    cleanup.push(() => store.close());
    // SQLite: hear what `ztgate device revoke` and other commands publish from other processes
    // (a cluster worker hears them through its primary, which listens instead)
    const events =
      o.eventBus !== undefined && storeOptions.kind === 'sqlite'
        ? o.eventBus()
        : await openEventBus(storeOptions, {
            listen: true,
            onWarning: (code, message) => log.warn(code, message),
          });
    cleanup.push(() => events.close());

    // --- routes and policies in force: the file, or a newer version edited through the admin
    // API (docs/admin.md, "Config precedence"); every replica follows `policy.reloaded`
    const configs = await ConfigManager.open({
      versions: store.configVersions,
      settings: store.settings,
      file: first.loaded,
      events,
      now,
      onWarning: (code, message) => log.warn(code, message),
    });
    config = configs.current().config;
    engineRef = configs.current().engine;

    // --- audit
    const signingKey = loadAuditSigningKey(defaultAuditKeyPath(config.data_dir), { create: true });
    const writer = new AuditWriter(new WorkerAuditTarget(storeOptions), {
      batchWindowMs: ms(config.audit.batch_window, 100),
      backlogLimit: config.audit.backlog_limit,
      onBacklogFull: config.audit.on_backlog_full,
      checkpointEveryMs: ms(config.audit.checkpoint_interval, 60_000),
      signingKey,
      onWarning: (code, message) => log.warn(code, message),
    });
    cleanup.push(() => writer.close({ timeoutMs: 10_000 }));
    const streams: AuditStream[] = [];
    if (config.audit.syslog) {
      const s = config.audit.syslog;
      const target = syslogTarget(s.address);
      streams.push(
        new AuditStream(
          store,
          new SyslogSink({
            ...target,
            ...(s.tls ? { tls: s.ca_file ? { ca: readSecretFile(s.ca_file) } : {} } : {}),
          }),
          { onWarning: (code, message) => log.warn(code, message) },
        ),
      );
    }
    if (config.audit.webhook) {
      const w = config.audit.webhook;
      streams.push(
        new AuditStream(
          store,
          new WebhookSink({
            url: w.url,
            ...(w.secret_file ? { secret: readSecretFile(w.secret_file).trim() } : {}),
            ...(w.ca_file ? { ca: readSecretFile(w.ca_file) } : {}),
          }),
          { onWarning: (code, message) => log.warn(code, message) },
        ),
      );
    }
    for (const s of streams) {
      s.start();
      cleanup.push(() => s.stop());
    }

    // --- PKI: the internal CA (created on first start), the CRL and the trust bundle
    const pkiConfig = pkiSettings(config);
    await ensureCa(config, store, log);
    const pki = await Pki.open({
      dataDir: config.data_dir,
      store: store.certificates,
      crlUrl: `${publicUrl}/pki/crl`,
      onWarning: (code, message) => log.warn(code, message),
    });
    cleanup.push(() => pki.close());
    if (config.pki.trust_domain !== undefined && pki.meta.trust_domain !== pkiConfig.trustDomain) {
      throw new ZtError(
        'ZT_PKI_CA_INVALID',
        `the CA in ${config.data_dir} is for the trust domain \`${pki.meta.trust_domain}\`, not \`${pkiConfig.trustDomain}\` (pki.trust_domain)`,
        {
          help: 'a trust domain cannot change: fix `pki.trust_domain`, or start a new CA in a new data directory',
        },
      );
    }
    const caPem = pki.ca.rootPem;

    // --- the listener certificate: from files, or from the CA for every host we serve
    // Browsers and agents present device certificates issued by the intermediate
    const clientCa = pki.ca.intermediatePem + pki.ca.rootPem;
    let names = certificateNames(config, listen);
    let certs: CertificateManager | undefined;
    let tlsMaterial: { cert: string; key: string };
    if (config.tls) {
      tlsMaterial = {
        cert: readSecretFile(config.tls.cert_file),
        key: readSecretFile(config.tls.key_file),
      };
    } else {
      const serverPolicy = IssuancePolicy.unrestricted();
      const obtain = (): ReturnType<ReturnType<typeof pkiServerCertificates>> =>
        pkiServerCertificates(
          pki,
          { ...names, ttlMs: pkiConfig.serverCertTtlMs },
          { requester: 'ztgate-serve', policy: serverPolicy },
        )();
      certs = new CertificateManager({
        obtain,
        // installing a certificate replaces the listener's whole secure context: without the
        // client CA in it, no client certificate would verify (`socket.authorized` false)
        contextOptions: { ca: clientCa },
        onRenewed: (c) =>
          log.info('ZT_PKI_SERVER_CERT_ISSUED', 'issued the listener certificate', {
            serial: c.serial,
            not_after: new Date(c.notAfter).toISOString(),
            names: [...names.dns, ...names.ips],
          }),
        onError: (e) => log.error(e.code, e.message),
      });
      const c = await certs.start();
      cleanup.push(() => certs?.stop());
      tlsMaterial = { cert: c.certPem, key: c.keyPem };
    }

    // --- identity
    const box = loadIdentityKey(config.data_dir, { create: true });
    const audit = (e: Parameters<AuditWriter['append']>[0]): void => {
      try {
        writer.append(e);
      } catch {
        // a full backlog is reported by the writer and refuses requests at the proxy
      }
    };
    const identity = await createIdentity({
      config,
      store,
      box,
      audit,
      events,
      // the IdP's certificate: the system's CAs, ztgate's own (the built-in IdP at public_url)
      // and `identity.oidc.ca_file`
      fetch: caFetch(
        [
          ...rootCertificates,
          caPem,
          ...(config.identity.oidc?.ca_file
            ? [readFileSync(config.identity.oidc.ca_file, 'utf8')]
            : []),
        ],
        { lookup: localhostLookup },
      ),
      outboundCa: caPem,
      lazyDiscovery: true,
      // a session started with a device certificate is bound to it and to its device
      certFingerprint: clientCertFingerprint,
      deviceId: clientCertDeviceId,
      now,
    });
    if (config.identity.oidc) {
      identity.rp.ready().then(
        () =>
          log.info('ZT_IDENTITY_IDP_READY', `the identity provider ${identity.rp.issuer} answers`),
        (err: unknown) =>
          log.warn(
            'ZT_IDENTITY_IDP_UNAVAILABLE',
            `the identity provider cannot be reached yet; sign-ins get 503 until it can: ${describeError(err)}`,
          ),
      );
    }

    // --- device trust
    let deviceSettings: DeviceTrustSettings = first.devices;
    const posture = new PostureService({
      devices: store.devices,
      events,
      audit: writer,
      settings: deviceSettings,
      now,
    });
    const publishRevoked = (serial: string): Promise<void> =>
      events
        .publish({ type: 'certificate.revoked', serial })
        .catch((err: unknown) => log.warn('ZT_STORE_EVENT_PUBLISH_FAILED', String(err)));
    const deviceIssuer = pkiDeviceIssuer(pki, {
      ttlMs: pkiConfig.deviceCertTtlMs,
      onRevoked: publishRevoked,
    });
    const enrollment = new DeviceEnrollment({
      devices: store.devices,
      codes: store.enrollmentCodes,
      issuer: deviceIssuer,
      users: store.users,
      audit: writer,
      now,
    });
    const webhooks =
      deviceSettings.webhooks.length > 0
        ? new SignalWebhooks({
            devices: store.devices,
            posture,
            webhooks: deviceSettings.webhooks,
            now,
          })
        : undefined;
    const deviceEndpoints = new DeviceEndpoints({
      enrollment,
      posture,
      ...(webhooks ? { webhooks } : {}),
    });
    const staleness = new StalenessMonitor({
      devices: store.devices,
      events,
      settings: () => deviceSettings,
    });
    staleness.start(15_000, now);
    cleanup.push(() => staleness.stop());

    // --- assertion keys (shared by every replica through the store)
    const keys = new KeyRing(settingsKeyRingStorage(store.settings, box, now), {
      rotateAfterMs: 24 * 3_600_000,
      maxTokenTtlMs: 5 * 60_000,
    });
    await keys.refresh(now());
    const signer = new AssertionSigner(keys, publicUrl);

    // --- the proxy
    const identityPort: ServerIdentityPort = serverIdentityPort(identity, { publicUrl, now });
    const devicePort: ServerDevicePort = serverDevicePort({
      devices: store.devices,
      settings: () => deviceSettings,
      now,
    });
    const guard = pki.guard({
      // a certificate is a device signal, not a requirement: browsers without one still sign in
      requireCertificate: false,
      onRefused: (r) =>
        log.warn(r.code, r.message, {
          reason: r.reason,
          serial: r.serial ?? null,
          remote: r.remoteAddress ?? null,
          cut: r.cut,
        }),
    });
    let storeReady = true;
    const metricsListen = listenOf(config.metrics_listen);
    const admin = createAdminApi({
      publicUrl,
      store,
      config: configs,
      // admin calls read the session from the store every time: no cache between a revocation
      // and an administrator's next call
      identity: sessionResolver(identity.sessions),
      sessions: identity.sessions,
      deviceFacts: devicePort,
      audit: writer,
      deviceSettings: () => deviceSettings,
      deviceIssuer,
      events,
      // a revocation through the API reaches every replica's TLS guard at once
      pki: {
        revoke: async (target, reason) => {
          const revoked = await pki.revoke(target, reason);
          for (const r of revoked) await publishRevoked(r.serial);
          return revoked;
        },
      },
      requestInfo: (req) => {
        const r = req as Pick<IncomingMessage, 'socket'>;
        const fp = clientCertFingerprint(r);
        return {
          ...(r.socket.remoteAddress !== undefined ? { sourceIp: r.socket.remoteAddress } : {}),
          ...(fp !== undefined ? { clientCertFingerprint: fp } : {}),
        };
      },
      now,
      onError: (err, requestId) =>
        log.error('ZT_ADMIN_INTERNAL', err instanceof Error ? err.message : String(err), {
          request_id: requestId,
        }),
    });

    // the console and the portal (docs/console.md); signing out may end at an external IdP
    const idpOrigin = config.identity.oidc
      ? new URL(config.identity.oidc.issuer).origin
      : undefined;
    const webUi = createWebUi(idpOrigin ? { formActionOrigins: [idpOrigin] } : {});

    let settings = proxySettings(config.proxy);
    const accessLog = openAccessLog(settings.accessLog);
    cleanup.push(() => accessLog.close());
    let upstreamTls = upstreamTlsByOrigin(config);
    const proxy = createProxy({
      engine: engineRef,
      trustedProxies: settings.trustedProxies,
      maxBodyBytes: settings.maxBodyBytes,
      upstreamTimeoutMs: settings.upstreamTimeoutMs,
      upstreamMaxFreeSockets: settings.upstreamMaxFreeSockets,
      clientKeepAliveMs: settings.clientKeepAliveMs,
      tunnelRecheckMs: settings.tunnelRecheckMs,
      decisionCache: settings.decisionCache,
      upstreamTls: (origin) => upstreamTls.get(origin),
      ...(accessLog.write ? { accessLog: accessLog.write } : {}),
      publicUrl,
      tls: { ...tlsMaterial, clientCa },
      listen,
      ...(metricsListen !== undefined ? { metricsListen } : {}),
      identity: identityPort,
      devices: devicePort,
      audit: auditWriterPort(writer),
      assertions: signer,
      jwks: () => keys.jwks(),
      clock: { now },
      ready: async () => {
        storeReady = await store.ping().catch(() => false);
        return storeReady && !writer.stats().overloaded;
      },
      log: (line) => log.raw(line),
      publicHandler: publicRoutes({
        identity,
        devices: deviceEndpoints,
        crl: createCrlHandler(pki.crl, {
          onError: (e) => log.error('ZT_PKI_CRL_FAILED', String(e)),
        }),
        bundle: createTrustBundleHandler(() => pki.bundle()),
        apps: () => config.routes.map((r) => r.from),
        portalPath: '/portal/',
        extra: [(req, res) => admin.handle(req, res), (req, res) => webUi.handle(req, res)],
        onError: (e) =>
          log.error(
            e instanceof ZtError ? e.code : 'ZT_PEP_INTERNAL',
            e instanceof Error ? e.message : String(e),
          ),
      }),
    });
    cleanup.push(() => proxy.close(0));

    // routes and policies changed (API edit, rollback, SIGHUP, another replica): swap them in
    const applyRoutes = async (state: ConfigState): Promise<void> => {
      config = state.config;
      engineRef = state.engine;
      upstreamTls = upstreamTlsByOrigin(config);
      // sign-ins may return to the new route hosts
      identity.setRoutes(config.routes);
      proxy.policyChanged(state.engine);
      const nextNames = certificateNames(config, listen);
      if (certs && JSON.stringify(nextNames) !== JSON.stringify(names)) {
        names = nextNames;
        await certs.rotate();
      }
    };
    configs.onChange((state) => {
      applyRoutes(state).catch((err: unknown) =>
        log.error(
          'ZT_PKI_ROTATION_FAILED',
          `the listener certificate was not renewed: ${String(err)}`,
        ),
      );
    });
    const detachGuard = guard.attach(proxy.server);
    cleanup.push(() => {
      detachGuard();
      guard.close();
    });
    certs?.attach(proxy.server);
    const { port, metricsPort } = await proxy.listen();

    // --- change events: every replica drops what it cached and cuts what is no longer allowed
    const onEvent = (envelope: EventEnvelope): void => {
      const e = envelope.event;
      switch (e.type) {
        case 'session.revoked':
          identityPort.forgetSession(e.sessionIdHash);
          proxy.revokeSession(sessionRef(e.sessionIdHash));
          break;
        case 'user.sessions_revoked':
          identityPort.forgetUser(e.userId);
          proxy.revokeUser(e.userId);
          break;
        case 'device.revoked':
          devicePort.forget(e.deviceId);
          proxy.revokeDevice(e.deviceId);
          break;
        case 'device.posture_changed':
          devicePort.forget(e.deviceId);
          proxy
            .deviceChanged(e.deviceId)
            .catch((err: unknown) =>
              log.warn(
                'ZT_PEP_INTERNAL',
                `re-deciding the device's tunnels failed: ${String(err)}`,
              ),
            );
          break;
        case 'certificate.revoked':
          pki.revocations.add(e.serial);
          break;
        case 'policy.reloaded':
          configs
            .refresh()
            .catch((err: unknown) =>
              log.warn('ZT_STORE_UNAVAILABLE', `reading the newest config failed: ${String(err)}`),
            );
          break;
        case 'bus.resync':
          configs.refresh().catch(() => undefined);
          identityPort.clear();
          devicePort.clear();
          proxy.policyChanged();
          break;
      }
    };
    cleanup.push(events.subscribe(onEvent));

    // --- housekeeping
    const timers: NodeJS.Timeout[] = [];
    const every = (intervalMs: number, work: () => Promise<unknown>, code: ErrorCode): void => {
      const t = setInterval(() => {
        work().catch((e: unknown) => log.warn(code, e instanceof Error ? e.message : String(e)));
      }, intervalMs);
      t.unref();
      timers.push(t);
    };
    every(60_000, () => keys.refresh(now()), 'ZT_PEP_INTERNAL');
    every(5 * 60_000, () => identity.sweep(), 'ZT_STORE_UNAVAILABLE');
    const retention = config.audit.retention;
    if (retention !== undefined) {
      const maxAgeMs = ms(retention, 0);
      every(
        3_600_000,
        () => applyRetention(store.audit, { maxAgeMs, signingKey, now }),
        'ZT_AUDIT_WRITE_FAILED',
      );
    }
    cleanup.push(() => timers.forEach((t) => clearInterval(t)));

    log.info(o.startedCode ?? 'ZT_SERVE_STARTED', `ztgate is serving ${publicUrl}`, {
      listen: `${listen.host}:${port}`,
      routes: config.routes.length,
      policies: Object.keys(config.policies).length,
      store: storeOptions.kind,
      ...(metricsPort !== undefined ? { metrics_port: metricsPort } : {}),
    });

    let closing: Promise<void> | undefined;
    return {
      get config() {
        return config;
      },
      port,
      metricsPort,
      caPem,
      store,
      events,
      proxy,
      identity,
      async reload() {
        const next = loadAll();
        upstreamTlsByOrigin(next.loaded.config); // unreadable TLS files refuse the reload
        settings = proxySettings(next.loaded.config.proxy);
        deviceSettings = next.devices;
        posture.setSettings(deviceSettings);
        devicePort.clear();
        accessLog.reopen();
        // the file's routes and policies win when they changed since last imported; the change
        // listener swaps them in
        await configs.reloadFile(next.loaded);
        log.info('ZT_SERVE_RELOADED', 'the configuration was reloaded', {
          routes: config.routes.length,
          policies: Object.keys(config.policies).length,
        });
        return { routes: config.routes.length, policies: Object.keys(config.policies).length };
      },
      close(drainMs = settings.drainMs) {
        closing ??= (async () => {
          log.info('ZT_SERVE_STOPPING', 'draining connections and the audit log', {
            drain_ms: drainMs,
          });
          await proxy.close(drainMs);
          // then, in reverse start order: timers, events, the audit writer (drains), the store
          await undo();
          const stats = writer.stats();
          log.info('ZT_SERVE_STOPPED', 'stopped', {
            audit_committed: stats.committed,
            audit_dropped: stats.dropped,
          });
        })();
        return closing;
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** TLS towards `https://` upstreams, per upstream origin, from the routes' `tls:` keys. */
function upstreamTlsByOrigin(config: Config): Map<string, UpstreamTls> {
  const out = new Map<string, UpstreamTls>();
  for (const r of config.routes) {
    if (r.tls === undefined) continue;
    const t = r.tls;
    out.set(new URL(r.to).origin, {
      ...(t.ca_file !== undefined ? { ca: readFileSync(t.ca_file, 'utf8') } : {}),
      ...(t.cert_file !== undefined ? { cert: readFileSync(t.cert_file, 'utf8') } : {}),
      ...(t.key_file !== undefined ? { key: readSecretFile(t.key_file) } : {}),
      ...(t.server_name !== undefined ? { servername: t.server_name } : {}),
    });
  }
  return out;
}

interface AccessLogWriter {
  /** undefined: the proxy's own (stdout, batched) */
  readonly write: ((line: string) => void) | undefined;
  /** a log file is opened again (after logrotate moved it); SIGHUP calls this */
  reopen(): void;
  close(): Promise<void>;
}

function openAccessLog(target: AccessLogTarget): AccessLogWriter {
  switch (target.kind) {
    case 'stdout':
      return { write: undefined, reopen: () => undefined, close: () => Promise.resolve() };
    case 'off':
      return { write: () => undefined, reopen: () => undefined, close: () => Promise.resolve() };
    case 'stderr': {
      const buffer = lineBuffer((chunk) => process.stderr.write(chunk));
      return {
        write: (line) => buffer.line(line),
        reopen: () => undefined,
        close: () => {
          buffer.flush();
          return Promise.resolve();
        },
      };
    }
    case 'file': {
      const open = (): WriteStream =>
        createWriteStream(target.path, { flags: 'a', mode: 0o640 }).on('error', () => undefined);
      let stream = open();
      const buffer = lineBuffer((chunk) => stream.write(chunk));
      return {
        write: (line) => buffer.line(line),
        reopen: () => {
          buffer.flush();
          const old = stream;
          stream = open();
          old.end();
        },
        close: () =>
          new Promise<void>((resolve) => {
            buffer.flush();
            stream.end(resolve);
          }),
      };
    }
  }
}
