/**
 * The PKI component's public surface: the internal CA (init, issue, rotate), verification (path
 * validation, revocation, the TLS client-certificate guard), the CRL and the SPIFFE trust bundle.
 * See docs/pki.md.
 */
export { Pki, type PkiOptions, type RevokeTarget } from './pki.js';
export {
  CertificateAuthority,
  BACKDATE_MS,
  type CaMaterial,
  type IssueAuthorization,
  type IssuedCertificate,
  type IssueRequest,
} from './ca/authority.js';
export {
  initCa,
  rotateIntermediate,
  loadRootKey,
  generateP256,
  type InitCaOptions,
  type InitCaResult,
} from './ca/init.js';
export {
  caExists,
  loadCaMaterial,
  pkiDir,
  FILES as PKI_FILES,
  type CaMeta,
} from './ca/store-files.js';
export { IssuancePolicy, type IssuanceAsk, type IssuanceEntry } from './ca/policy.js';
export { CERTIFICATE_TYPES, TYPE_LIMITS, type CertificateType } from './ca/profiles.js';
export { createCsr, decodeCsr, verifyCsr, MAX_CSR_BYTES } from './ca/csr.js';
export {
  CertificateManager,
  pkiServerCertificates,
  type CertificateManagerOptions,
  type ServerCertificate,
  type Timers,
} from './ca/rotation.js';
export {
  PathValidator,
  REFUSAL_REASONS,
  assertVerified,
  type PeerIdentity,
  type RefusalReason,
  type Verdict,
  type VerifyOptions,
  type RevocationChecker,
} from './verify/path.js';
export {
  RevocationSet,
  type RevocationFeed,
  type RevocationListener,
} from './verify/revocation.js';
export {
  ClientCertificateGuard,
  type ClientCertificateGuardOptions,
  type RefusedConnection,
} from './verify/tls-guard.js';
export {
  parseCertificate,
  certificatesFrom,
  toPem,
  type ParsedCertificate,
} from './verify/parse.js';
export {
  CrlPublisher,
  REVOCATION_REASONS,
  type CrlSnapshot,
  type RevocationReason,
} from './crl/crl.js';
export { createCrlHandler } from './crl/handler.js';
export {
  buildTrustBundle,
  createTrustBundleHandler,
  type SpiffeBundle,
  type SpiffeJwk,
} from './bundle.js';
export { parseSpiffeId, parseTrustDomain, type SpiffeId } from './spiffe.js';
export { PkiError } from './errors.js';
