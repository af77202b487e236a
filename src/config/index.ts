/**
 * The config component: the schema of ztgate.yaml and its loader. Other components import from
 * here; the files behind it are the component's own business.
 */
export {
  checkConfigText,
  defaultConfigPath,
  loadConfigFile,
  loadConfigText,
  readConfigText,
  MAX_PROBLEMS,
  type ConfigCheck,
  type LoadedConfig,
  type LoadOptions,
} from './load.js';
export {
  ConfigSchema,
  DecisionCacheSchema,
  IdentitySchema,
  OidcSchema,
  PkiSchema,
  PolicyNameSchema,
  ProxySchema,
  RouteSchema,
  SessionSchema,
  StoreSchema,
  TlsSchema,
  UpstreamTlsSchema,
  ACCESS_LOG_TARGETS,
  CONFIG_PATH_ENV,
  DEFAULT_CONFIG_PATH,
  ENV_PREFIX,
  PKI_TTL_BOUNDS,
  POLICY_NAME_PATTERN,
  TRUST_DOMAIN_PATTERN,
  type AuditConfig,
  type Config,
  type ConfigInput,
  type DecisionCacheConfig,
  type DevicesConfig,
  type IdentityConfig,
  type OidcConfig,
  type PkiConfig,
  type ProxyConfig,
  type Route,
  type RouteMode,
  type SessionConfig,
  type TlsConfig,
  type UpstreamTlsConfig,
} from './schema.js';
export {
  accessLogTarget,
  defaultTrustDomain,
  durationMs,
  pkiSettings,
  proxySettings,
  type AccessLogTarget,
  type PkiSettings,
  type ProxySettings,
} from './runtime.js';
export { readSecretFile, checkSecretFile, MAX_SECRET_BYTES } from './secrets.js';
export {
  isAccessLogFile,
  isLoopbackHost,
  parseListen,
  routeKey,
  type ListenAddress,
} from './check.js';
export {
  configJsonSchema,
  envKeys,
  fileKeys,
  formatFileKey,
  type EnvKey,
  type FileKey,
} from './json-schema.js';
export { RESERVED_ENV_NAMES } from './env.js';
export { MAX_ALIAS_COUNT, MAX_CONFIG_BYTES, MAX_DEPTH } from './yaml.js';
