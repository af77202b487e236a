/** The policy enforcement point's public surface. */
export { createProxy, type Proxy, type ProxyStats } from './proxy.js';
export {
  DEFAULTS as PROXY_DEFAULTS,
  type DecisionCacheOptions,
  type ListenAddress,
  type Pem,
  type ProxyOptions,
  type ProxyRoute,
  type PublicHandler,
  type UpstreamTls,
} from './options.js';
export {
  PortUnavailableError,
  systemClock,
  type AccessRecord,
  type AuditPort,
  type Clock,
  type Dependency,
  type DeviceFactsPort,
  type DeviceLookup,
  type IdentityPort,
  type IdentityRequest,
  type MaybePromise,
  type ReadinessCheck,
  type ResolvedIdentity,
  type ResolvedSession,
  type ResolvedUser,
} from './ports.js';
export { auditWriterPort } from './audit-port.js';
export { AssertionSigner, verifyAssertion, MAX_ASSERTION_TTL_MS } from './assertion/assertion.js';
export { KeyRing, MemoryKeyRingStorage, type KeyRingStorage } from './assertion/key-ring.js';
export { JWKS_PATH } from './internal.js';
