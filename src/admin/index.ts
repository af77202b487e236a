/**
 * The admin API (PAP): `createAdminApi(deps)` serves `{public_url}/api/v1/*`; `ConfigManager`
 * keeps routes and policies from the file and the API under one precedence rule. See
 * docs/admin.md. Nothing else in ztgate imports this module: the composition root mounts it.
 */
export { createAdminApi, type AdminApi } from './api.js';
export type {
  AdminApiDeps,
  AdminAuditPort,
  AdminIdentityPort,
  AdminPkiPort,
  AdminSessionPort,
  AdminStore,
  RequestInfo,
} from './deps.js';
export {
  ConfigManager,
  FILE_AUTHOR,
  FILE_CHECKSUM_KEY,
  versionFile,
  type ConfigChangeEvent,
  type ConfigListener,
  type ConfigManagerOptions,
  type ConfigSource,
  type ConfigState,
} from './config/config-manager.js';
export { PolicyDocumentSchema, documentText, type PolicyDocument } from './config/document.js';
export { ADMIN_POLICY_NAME, DEFAULT_ADMIN_POLICY } from './auth/admin-policy.js';
export { SCOPES, type Scope } from './auth/scopes.js';
export { sessionResolver, storeDeviceFacts } from './adapters.js';
export { CSRF_HEADER } from './http/csrf.js';
export type { OpenApiDocument } from './openapi.js';
