/** The audit log's public surface. */
export * from './record.js';
export { canonicalJson } from './canonical.js';
export { chainHash } from './chain.js';
export {
  AuditWriter,
  AuditBacklogFullError,
  type AuditWriterOptions,
  type AuditWriterStats,
  type BacklogPolicy,
  type CommitInfo,
  type Warn,
} from './writer.js';
export { inlineTarget, type AppendSummary, type AuditBatchTarget } from './target.js';
export { WorkerAuditTarget } from './worker-target.js';
export {
  AUDIT_KEY_FILE,
  defaultAuditKeyPath,
  exportPublicKeyPem,
  loadAuditPublicKey,
  loadAuditSigningKey,
  signCheckpoint,
  type AuditSigningKey,
} from './signing-key.js';
export {
  verifyAuditLog,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyProblemKind,
  type VerifyResult,
} from './verify.js';
export {
  queryAudit,
  scanAudit,
  tailAudit,
  type AuditPage,
  type AuditQuery,
  type TailOptions,
} from './query.js';
export { octetCountingFrame, toJsonLine, toSyslogMessage, type SyslogFormat } from './export.js';
export { applyRetention, type RetentionOptions, type RetentionResult } from './retention.js';
export type { AuditSink } from './sinks/sink.js';
export { SyslogSink, type SyslogSinkOptions } from './sinks/syslog.js';
export { WebhookSink, type WebhookSinkOptions } from './sinks/webhook.js';
export { AuditStream, type AuditStreamOptions } from './sinks/stream.js';
