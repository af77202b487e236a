/**
 * Every error and warning code ztgate emits, with a one-line summary for docs/errors.md.
 * Codes are `ZT_<AREA>_<WHAT>` and are never reused: a retired code stays here, marked retired.
 * docs/errors.md is generated from this table (`npm run schema`); a test fails when it is stale.
 */
export const errorCatalog = {
  // cli
  ZT_CLI_USAGE: 'the command line is malformed: an unknown command, option or a missing argument',
  ZT_CLI_INPUT_INVALID: 'an argument given on the command line could not be read or parsed',

  // config: reading and validating ztgate.yaml
  ZT_CONFIG_FILE_UNREADABLE: 'the config file does not exist or cannot be read',
  ZT_CONFIG_FILE_TOO_LARGE: 'the config file is larger than ztgate accepts',
  ZT_CONFIG_YAML_SYNTAX: 'the file is not valid YAML',
  ZT_CONFIG_TOO_DEEP: 'the document nests deeper than ztgate accepts',
  ZT_CONFIG_UNKNOWN_KEY:
    'a key the schema does not know (often a typo: the message suggests the nearest key)',
  ZT_CONFIG_MISSING_KEY: 'a required key is absent',
  ZT_CONFIG_WRONG_TYPE:
    'a value has the wrong type (a list where a map is expected, a number where a string is, ...)',
  ZT_CONFIG_INVALID_VALUE:
    'a value has the right type but is not acceptable (out of range, not one of the allowed values, badly formed)',
  ZT_CONFIG_INVALID_DURATION:
    'a duration is not of the form `90s`, `30m`, `8h`, `7d` (or a combination such as `1h30m`)',
  ZT_CONFIG_INVALID_URL: 'a URL is malformed or uses a scheme that is not allowed there',
  ZT_CONFIG_INVALID_LISTEN: 'a listen address is not `host:port`',
  ZT_CONFIG_ENV_INVALID: 'a `ZTGATE_*` environment variable has a value that does not fit its key',
  ZT_CONFIG_ENV_UNKNOWN: 'a `ZTGATE_*` environment variable names no config key (warning)',
  ZT_CONFIG_SECRET_FILE: 'a secret file (`*_file` key) is missing, empty or unreadable',
  ZT_CONFIG_SECRET_PERMISSIONS:
    'a secret file is readable or writable by group or others: it must be 0600 or stricter',
  ZT_CONFIG_DUPLICATE_ROUTE: 'two routes have the same `from`',
  ZT_CONFIG_INSECURE: 'a setting that weakens security is in use (warning, logged at start)',
  ZT_CONFIG_TOO_MANY_ALIASES:
    'the document expands YAML aliases more than ztgate accepts (a guard against alias bombs)',
  ZT_CONFIG_TOO_MANY_PROBLEMS:
    'more problems were found than are listed: fix the ones shown and check again',

  // policy language: compiling policies and routes
  ZT_POLICY_UNKNOWN: 'a route or test names a policy that is not defined',
  ZT_POLICY_EMPTY_RULE:
    'a rule has no criteria (a rule must say what it requires; use `public: true` for everyone)',
  ZT_POLICY_INVALID_CIDR: 'a `source_ip` entry is not an IPv4 or IPv6 address or CIDR',
  ZT_POLICY_INVALID_GLOB: 'a path or SPIFFE ID pattern is malformed',
  ZT_POLICY_INVALID_TIME_ZONE: 'a `time.tz` is not an IANA time zone name',
  ZT_POLICY_INVALID_TIME: 'a `time` criterion has a malformed day, hour range or date',
  ZT_POLICY_INVALID_COUNTRY: 'a country is not an ISO 3166-1 alpha-2 code',
  ZT_POLICY_INVALID_RANGE: 'a `min`/`max` range is empty or outside the allowed bounds',
  ZT_POLICY_INVALID_VALUE: 'a criterion value is not acceptable',
  ZT_POLICY_NETWORK_ONLY:
    'an allow rule trusts the network alone (`source_ip`/`countries` with no identity criterion) (warning)',
  ZT_POLICY_EVAL_INPUT:
    'the decision input given to `policy eval` is not valid JSON or not an object',

  // policy tests (`ztgate policy test`)
  ZT_POLICY_TEST_FILE: 'a policy test file is malformed',
  ZT_POLICY_TEST_FAILED: 'one or more policy test cases did not give the expected decision',

  // store: the database behind every component (SQLite or PostgreSQL) and change events
  ZT_STORE_UNAVAILABLE:
    'the store cannot be reached (database file gone, PostgreSQL down or refusing connections); requests that need it are refused with 503 until it returns',
  ZT_STORE_CONFLICT:
    'a record with the same key already exists (user email, id, certificate serial, config version) or a concurrent change won',
  ZT_STORE_NOT_FOUND: 'the record to change does not exist',
  ZT_STORE_INVALID_RECORD:
    'a record handed to the store is malformed (empty key, wrong type, value out of range)',
  ZT_STORE_INVALID_OPTIONS: 'the store options or `store:` URL are malformed',
  ZT_STORE_MIGRATION_FAILED:
    'a schema migration could not be applied (or an applied one was changed); the store was not opened',
  ZT_STORE_SCHEMA_TOO_NEW:
    'the database was migrated by a newer ztgate than this one; upgrade ztgate',
  ZT_STORE_CLOSED: 'the store was used after it was closed',
  ZT_STORE_FAILED: 'the database reported an unexpected error',
  ZT_STORE_EVENT_PUBLISH_FAILED:
    'a change event (revocation, posture, policy reload) could not be published to the other replicas',
  ZT_STORE_EVENT_INVALID:
    'a change event received from another replica is malformed and was ignored (warning)',
  ZT_STORE_EVENTS_RECONNECTED:
    'the change event connection was lost and re-established; events sent meanwhile may be missed, so state is reloaded (warning)',

  // audit: the tamper-evident audit log
  ZT_AUDIT_BACKLOG_FULL:
    'the audit writer has more unwritten records than its backlog limit; new requests are refused with 503 until it catches up',
  ZT_AUDIT_RECORDS_DROPPED:
    'the audit backlog was full and `on_backlog_full: drop_oldest` discarded records (warning)',
  ZT_AUDIT_WRITE_FAILED:
    'a batch of audit records could not be written; it is kept in memory and retried (warning)',
  ZT_AUDIT_WRITER_CLOSED: 'an audit record was appended after the writer was closed',
  ZT_AUDIT_RECORD_INVALID:
    'an audit record is malformed (missing kind or time, a value that is not JSON)',
  ZT_AUDIT_CHAIN_BROKEN:
    'verification found a modified, deleted, inserted or reordered audit record, a truncated tail or a bad checkpoint',
  ZT_AUDIT_KEY_PERMISSIONS:
    'the audit signing key file is readable or writable by group or others: it must be 0600 or stricter',
  ZT_AUDIT_KEY_INVALID:
    'the audit signing key file (or a public key given to verify) is unreadable or not an Ed25519 key',
  ZT_AUDIT_QUERY_INVALID: 'an audit query has a malformed filter, time or cursor',
  ZT_AUDIT_SINK_FAILED:
    'an audit record stream (syslog, webhook) could not deliver a batch; it retries with backoff (warning)',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof errorCatalog;
