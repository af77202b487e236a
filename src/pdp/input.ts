/**
 * The decision input: a plain snapshot of everything a decision may depend on. The PEP builds it
 * per request; `ztgate policy eval --input` takes it as JSON. Every field is optional: a criterion
 * whose field is missing does not hold (and never throws).
 *
 * Times are ISO 8601 strings (as in JSON) or epoch milliseconds (what the PEP passes, to spare a
 * parse on the hot path).
 */
export type Instant = string | number;

export interface DecisionInput {
  readonly user?: UserFacts | undefined;
  readonly session?: SessionFacts | undefined;
  readonly device?: DeviceFacts | undefined;
  readonly request?: RequestFacts | undefined;
  readonly risk?: RiskFacts | undefined;
  readonly client_cert?: ClientCertFacts | undefined;
}

export interface UserFacts {
  readonly id?: string | undefined;
  readonly email?: string | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

export interface SessionFacts {
  readonly id?: string | undefined;
  readonly mfa?:
    | { readonly methods?: readonly string[] | undefined; readonly at?: Instant | undefined }
    | undefined;
}

export type PostureValue = boolean | number | string;

export interface DeviceFacts {
  readonly id?: string | undefined;
  readonly managed?: boolean | undefined;
  readonly tier?: string | undefined;
  readonly posture?: Readonly<Record<string, PostureValue | null | undefined>> | undefined;
}

export interface RequestFacts {
  readonly method?: string | undefined;
  readonly host?: string | undefined;
  /** the normalized path: one leading `/`, no dot segments, no `\`, no NUL (the PEP guarantees it) */
  readonly path?: string | undefined;
  readonly source_ip?: string | undefined;
  /** ISO 3166-1 alpha-2, upper case */
  readonly country?: string | undefined;
  readonly time?: Instant | undefined;
}

export interface RiskFacts {
  readonly score?: number | undefined;
  readonly signals?: readonly string[] | undefined;
}

export interface ClientCertFacts {
  /** SHA-256 of the DER certificate, hex (any case, colons allowed) */
  readonly fingerprint?: string | undefined;
  readonly spiffe_id?: string | undefined;
  readonly subject?: string | undefined;
}
