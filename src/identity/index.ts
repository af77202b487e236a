/**
 * The identity component: the built-in IdP, the relying party for any OIDC IdP, sessions, MFA,
 * tokens for programs and return-URL safety. Other components import from here.
 */
export { createIdentity, type Identity, type IdentityOptions } from './identity.js';
export {
  ACR_MFA,
  ACR_PASSWORD,
  ACR_PHISHING_RESISTANT,
  acrForMethods,
  mfaMethodsFromAmr,
  satisfiesMethods,
} from './amr.js';
export { discardAudit, type IdentityAuditEvent, type IdentityAuditSink } from './audit.js';
export { IDENTITY_KEY_FILE, loadIdentityKey, SecretBox } from './secret-box.js';
export { hashPassword, verifyPassword, checkPasswordPolicy } from './password.js';
export { MfaStore, type MfaSummary } from './mfa-store.js';
export { LoginThrottle, DEFAULT_THROTTLE, type ThrottlePolicy } from './throttle.js';
export { UserAdmin, parseGroups } from './users.js';
export {
  assertReturnUrl,
  routeHosts,
  validateReturnUrl,
  type ReturnUrlPolicy,
  type ReturnUrlResult,
} from './return-url.js';
export {
  SESSION_COOKIE,
  clearSessionCookie,
  parseCookies,
  sessionIdFromCookies,
} from './session/cookie.js';
export {
  SessionManager,
  normalizeFingerprint,
  sessionPolicyFromConfig,
  sessionFailureCode,
  sessionRef,
  toDecisionFacts,
  type ActiveSession,
  type SessionDecisionFacts,
  type SessionFailure,
  type SessionLookup,
  type SessionPolicy,
  type SessionRevalidator,
} from './session/session-manager.js';
export {
  HANDOFF_CALLBACK_PATH,
  HANDOFF_START_PATH,
  HANDOFF_TTL_MS,
  handoffCommitment,
  isHandoffCommitment,
  SessionHandoff,
  type HandoffIssueInput,
  type HandoffRedeemInput,
  type HandoffRedemption,
  type RouteHostRedirect,
  type RouteHostRequest,
  type RouteHostSignOutRequest,
  type SessionHandoffOptions,
} from './session/handoff.js';
export {
  createAuthHandler,
  DEFAULT_AUTH_PATHS,
  type AuthHandler,
  type AuthPaths,
  type AuthRedirect,
  type HandoffBinding,
  type StepUpRequirement,
} from './rp/auth-handler.js';
export { RelyingParty, type ExternalIdentity, type LoginResult } from './rp/relying-party.js';
export { caFetch, type FetchLike } from './rp/ca-fetch.js';
export { externalUserId, provisionUser } from './rp/provision.js';
export {
  createBuiltinIdp,
  ensureBuiltinClient,
  type BuiltinClient,
  type BuiltinIdp,
} from './idp/provider.js';
export {
  TokenService,
  bearerTokenFromHeader,
  type BearerPrincipal,
  type ServiceAccount,
  type TokenRecord,
} from './token/tokens.js';
export { loadSigningKeys, rotateSigningKeys, publicJwks } from './keys.js';
