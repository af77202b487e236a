/**
 * What the identity component tells the audit log. The audit writer belongs to src/audit; identity
 * only needs somewhere to send events, so it takes a plain callback. An `IdentityAuditEvent` is
 * shaped like the audit component's `AuditEvent` (kind, action, outcome, actor, ...), so the
 * composition root can connect the two with `(event) => writer.append(event)`.
 *
 * Events never carry a password, code, token, cookie or key: only who, what, and why it failed.
 */

export type IdentityAuditKind = 'login' | 'logout' | 'mfa' | 'session' | 'admin';

/** A JSON value in `details` (structurally the audit component's JsonValue). */
export type AuditDetail = string | number | boolean | null | readonly string[];

export interface IdentityAuditEvent {
  readonly kind: IdentityAuditKind;
  /** ms since the epoch */
  readonly time: number;
  /**
   * The specific event: `login.succeeded`, `login.failed`, `login.throttled`, `login.locked`,
   * `mfa.totp.failed`, `mfa.enrolled`, `session.created`, `session.revoked`, `token.issued`, ...
   */
  readonly action: string;
  readonly outcome: 'success' | 'failure';
  readonly actor?: {
    readonly user?: string;
    readonly email?: string;
    readonly device?: string;
    readonly service?: string;
  };
  readonly source_ip?: string;
  /** what the event acted on: `session:<hash prefix>`, `user:<id>`, `token:<jti>` */
  readonly resource?: string;
  readonly details?: Readonly<Record<string, AuditDetail>>;
}

/** Receives identity events; must not throw (a failing sink is the audit component's problem). */
export type IdentityAuditSink = (event: IdentityAuditEvent) => void;

/** A sink that drops everything: for tools that have no audit log to write to. */
export const discardAudit: IdentityAuditSink = () => undefined;

/** Calls the sink, swallowing its errors: auditing must never turn a refusal into an acceptance. */
export function emitAudit(sink: IdentityAuditSink, event: IdentityAuditEvent): void {
  try {
    sink(event);
  } catch {
    // the audit component reports its own failures (ZT_AUDIT_*); identity carries on
  }
}
