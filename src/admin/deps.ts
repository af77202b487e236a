/**
 * What the admin API needs from the rest of ztgate: narrow ports the composition root (`ztgate
 * serve`) wires from the store, identity, device, PKI and audit components. Nothing here is a
 * driver or a server: the API can be tested on a real store with a plain http server.
 */
import type { AuditEvent } from '../audit/record.js';
import type { DeviceCertificateIssuer } from '../device/enroll/issuer.js';
import type { DeviceEventPublisher } from '../device/ports.js';
import type { DeviceTrustSettings } from '../device/settings.js';
import type {
  DeviceFactsPort,
  IdentityRequest,
  MaybePromise,
  ResolvedIdentity,
} from '../pep/ports.js';
import type { RevocationReason } from '../pki/crl/crl.js';
import type { CertificateRecord, Store } from '../store/store.js';
import type { ConfigManager } from './config/config-manager.js';

/** The store areas the API reads and changes. */
export type AdminStore = Pick<
  Store,
  | 'users'
  | 'groups'
  | 'sessions'
  | 'devices'
  | 'enrollmentCodes'
  | 'certificates'
  | 'settings'
  | 'audit'
>;

/**
 * Sessions from cookies. The proxy's `IdentityPort` fits; `sessionResolver(sessionManager)` builds
 * one. The API never passes an `Authorization` header here: program tokens (`ztgate token issue`)
 * are not admin credentials.
 */
export interface AdminIdentityPort {
  resolve(request: IdentityRequest): MaybePromise<ResolvedIdentity | undefined>;
}

/** Ending sessions; `SessionManager` fits (it audits and publishes the revocations itself). */
export interface AdminSessionPort {
  revoke(idHash: string, reason?: string, by?: string): Promise<boolean>;
  revokeUser(userId: string, reason?: string): Promise<number>;
}

/** The audit log; `AuditWriter` fits. */
export interface AdminAuditPort {
  append(event: AuditEvent): unknown;
  /** true while the writer refuses records: changes are then refused before they are made */
  readonly overloaded?: boolean;
}

/** The CA; `Pki` fits. */
export interface AdminPkiPort {
  revoke(
    target: { readonly serial: string },
    reason?: RevocationReason,
  ): Promise<readonly CertificateRecord[]>;
}

/** Facts about the connection a request came on, as the proxy determined them. */
export interface RequestInfo {
  /** the client address (behind trusted proxies: the first one they did not add) */
  readonly sourceIp?: string;
  /** lower-case hex SHA-256 of a verified client certificate */
  readonly clientCertFingerprint?: string;
  /** the request id (shown in problems and the audit log); a new one when absent */
  readonly requestId?: string;
}

export interface AdminApiDeps {
  /** `public_url`: cookie-authenticated changes must come from this origin */
  readonly publicUrl: string;
  readonly store: AdminStore;
  /** routes, policies, versions; also the engine the admin policy is decided with */
  readonly config: ConfigManager;
  readonly identity: AdminIdentityPort;
  readonly sessions: AdminSessionPort;
  /** device facts for the admin policy's `device:` criterion; without it no device is known */
  readonly deviceFacts?: DeviceFactsPort;
  readonly audit: AdminAuditPort;
  /** device tiers and staleness for device listings; default the built-in settings */
  readonly deviceSettings?: () => DeviceTrustSettings;
  /** revokes a revoked device's certificate */
  readonly deviceIssuer?: DeviceCertificateIssuer;
  /** `device.revoked` to every replica (the store's event bus fits) */
  readonly events?: DeviceEventPublisher;
  /** certificate revocation; without it `POST /certificates/{serial}/revoke` answers 503 */
  readonly pki?: AdminPkiPort;
  /** the proxy's view of the connection; default: the socket's peer address */
  readonly requestInfo?: (req: unknown) => RequestInfo;
  readonly now?: () => number;
  /** largest request body; default 1 MiB */
  readonly maxBodyBytes?: number;
  /** 500s: the error and the request id (the client sees only the id) */
  readonly onError?: (error: unknown, requestId: string) => void;
}
