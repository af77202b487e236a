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
  IdentitySchema,
  OidcSchema,
  PolicyNameSchema,
  RouteSchema,
  SessionSchema,
  StoreSchema,
  TlsSchema,
  CONFIG_PATH_ENV,
  DEFAULT_CONFIG_PATH,
  ENV_PREFIX,
  POLICY_NAME_PATTERN,
  type Config,
  type ConfigInput,
  type IdentityConfig,
  type OidcConfig,
  type Route,
  type RouteMode,
  type SessionConfig,
  type TlsConfig,
} from './schema.js';
export { readSecretFile, checkSecretFile, MAX_SECRET_BYTES } from './secrets.js';
export { isLoopbackHost, parseListen, routeKey, type ListenAddress } from './check.js';
export { configJsonSchema, envKeys, fileKeys, type EnvKey, type FileKey } from './json-schema.js';
export { RESERVED_ENV_NAMES } from './env.js';
export { MAX_ALIAS_COUNT, MAX_CONFIG_BYTES, MAX_DEPTH } from './yaml.js';
