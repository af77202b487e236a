/**
 * Device trust: the posture schema, tiers and staleness (`deviceFacts` for the proxy), enrollment
 * (codes, CSR checks, the CA port), posture reports and signal webhooks, the inventory, and the
 * agent with its collectors. Composition (which store, which CA, which event bus) happens in the
 * server's composition root; this module only depends on the ports below.
 */
export { DeviceError, httpStatusOf, type DeviceErrorCode } from './errors.js';
export type { Clock, DeviceAuditSink, DeviceChangeEvent, DeviceEventPublisher } from './ports.js';
export {
  DEFAULT_DEVICE_SETTINGS,
  DevicesConfigSchema,
  checkDeviceSettings,
  deviceSettingsFrom,
  resolveDeviceSettings,
  type DeviceSettingsCheck,
  type DeviceTrustSettings,
  type DevicesConfig,
  type DevicesConfigInput,
  type PostureCondition,
  type TierRule,
  type WebhookSettings,
} from './settings.js';
export {
  POSTURE_ATTRIBUTES,
  attributeSpec,
  type AttributeName,
  type AttributeSpec,
  type PostureAttributes,
} from './posture/schema.js';
export {
  MAX_REPORT_BYTES,
  REPORT_VERSION,
  checkAgentAttribute,
  parseReport,
  validateReport,
  type PostureReport,
} from './posture/report.js';
export { computeTier, conditionHolds, tierShortfall } from './posture/tiers.js';
export {
  deviceFacts,
  evaluatePosture,
  factsChanges,
  makeDeviceFacts,
  type PostureEvaluation,
} from './posture/facts.js';
export {
  readPostureDocument,
  writePostureDocument,
  type PostureDocument,
} from './posture/document.js';
export { authenticateDevice, presentedCertificate, type PresentedCertificate } from './auth.js';
export {
  InMemoryEnrollmentCodeStore,
  EnrollmentCodeError,
  issueEnrollmentCode,
  normalizeEnrollmentCode,
  type EnrollmentCodeRecord,
  type EnrollmentCodeStore,
  type IssuedEnrollmentCode,
} from './enroll/codes.js';
export { parseDeviceCsr, checkCsrIdentity, type DeviceCsr } from './enroll/csr.js';
export {
  DeviceEnrollment,
  parseDeviceInfo,
  type DeviceEnrollmentOptions,
  type DeviceInfo,
  type EnrollmentResult,
} from './enroll/enroll.js';
export type {
  DeviceCertificateIssuer,
  DeviceCertificateRequest,
  IssuedDeviceCertificate,
  RevocationReason,
} from './enroll/issuer.js';
export {
  StorePostureHistory,
  type PostureHistoryEntry,
  type PostureHistoryStore,
} from './report/history.js';
export {
  PostureService,
  type PostureServiceOptions,
  type ReportOutcome,
} from './report/posture-service.js';
export {
  SignalWebhooks,
  ReplayCache,
  loadWebhookSecrets,
  mapWebhookPayload,
  signWebhook,
  verifyWebhook,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from './report/webhook.js';
export { StalenessMonitor } from './report/staleness.js';
export { DeviceEndpoints, DEVICE_PATHS } from './http/endpoints.js';
export {
  listDevices,
  revokeDevice,
  showDevice,
  summarizeDevice,
  type DeviceDetails,
  type DeviceSummary,
  type RevokeOutcome,
} from './inventory.js';
