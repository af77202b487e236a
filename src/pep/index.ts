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
  type HandoffRequest,
  type IdentityPort,
  type IdentityRequest,
  type MaybePromise,
  type PortRedirect,
  type ReadinessCheck,
  type ResolvedIdentity,
  type ResolvedSession,
  type ResolvedUser,
  type SignOutRequest,
} from './ports.js';
export { isReservedPath, RESERVED_PATHS } from './pipeline/answer-reserved.js';
export { auditWriterPort } from './audit-port.js';
export { AssertionSigner, verifyAssertion, MAX_ASSERTION_TTL_MS } from './assertion/assertion.js';
export { KeyRing, MemoryKeyRingStorage, type KeyRingStorage } from './assertion/key-ring.js';
export { JWKS_PATH } from './internal.js';
