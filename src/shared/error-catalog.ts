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
  ZT_CONFIG_INVALID_SIZE:
    'a size is not a whole number of bytes or a number with a unit such as `512KiB`, `10MiB`, `1GB`',
  ZT_CONFIG_INVALID_CIDR:
    'an entry of `proxy.trusted_proxies` is not an IPv4 or IPv6 address or CIDR',
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

  // pki: the internal certificate authority
  ZT_PKI_CA_NOT_FOUND:
    'there is no certificate authority under the data directory (`<data_dir>/pki`): run `ztgate ca init`',
  ZT_PKI_CA_EXISTS:
    '`ztgate ca init` found a certificate authority already in place and changed nothing',
  ZT_PKI_CA_INVALID:
    'the CA files are malformed or do not belong together, or a new CA failed its self-test (issuing and verifying a throwaway certificate)',
  ZT_PKI_KEY_PERMISSIONS:
    'a CA key file (or the `pki` directory) is readable or writable by group or others: keys must be 0600 and the directory 0700',
  ZT_PKI_KEY_INVALID:
    'a key file is unreadable, is not an ECDSA P-256 private key, or does not match its certificate',
  ZT_PKI_PASSPHRASE_REQUIRED:
    'the root key is encrypted and no passphrase was given (`--root-passphrase-file FILE` or `-` for standard input)',
  ZT_PKI_PASSPHRASE_WRONG: 'the passphrase does not decrypt the root key',
  ZT_PKI_PASSPHRASE_INVALID: 'a new root key passphrase is empty, too short or unreadable',
  ZT_PKI_CSR_TOO_LARGE: 'a certificate signing request is larger than 64 KiB',
  ZT_PKI_CSR_MALFORMED:
    'a certificate signing request is not one well-formed PEM block or DER structure (bad base64, text around the block, trailing bytes, wrong ASN.1)',
  ZT_PKI_CSR_SIGNATURE:
    'the signature of a certificate signing request does not match its public key (the requester does not hold the key)',
  ZT_PKI_CSR_KEY_UNSUPPORTED:
    'the key in a certificate signing request is of a type or size ztgate does not certify (ECDSA P-256/P-384, Ed25519 and RSA 2048-8192 are accepted)',
  ZT_PKI_NAME_INVALID: 'a name to certify (DNS name, IP address, device or user id) is malformed',
  ZT_PKI_SPIFFE_ID_INVALID:
    'a SPIFFE ID breaks the SPIFFE rules (scheme, lower-case trust domain, path segments, no query, fragment, port or user info) or is outside the CA trust domain',
  ZT_PKI_NAME_NOT_ALLOWED:
    'the issuance policy does not allow this requester to obtain a certificate of this type or for this name',
  ZT_PKI_VALIDITY_INVALID:
    'a requested lifetime or validity period is empty, too long for its certificate type or the policy, or outside the issuing CA validity',
  ZT_PKI_ISSUANCE_POLICY_INVALID: 'the issuance policy file is malformed',
  ZT_PKI_CERT_NOT_FOUND: 'no certificate has the given serial number or subject',
  ZT_PKI_REVOKE_CA:
    '`revoke` was asked to revoke a CA certificate: rotate the intermediate instead (`ztgate ca rotate`), or start a new CA if the root is compromised',
  ZT_PKI_CERT_INVALID:
    'a certificate failed verification (expired, not yet valid, unknown CA, revoked, wrong key usage, ...); the reason is in the message',
  ZT_PKI_CLIENT_CERT_REFUSED:
    'a TLS client certificate was refused and the connection closed; the reason is in the message (warning, logged)',
  ZT_PKI_CRL_FAILED:
    'the certificate revocation list could not be regenerated; the previous one is served until it expires, then 503 (warning)',
  ZT_PKI_ROTATION_FAILED:
    'renewing a server certificate failed; the current one stays in use and renewal is retried (warning)',

  // identity: sign-in, MFA, sessions, tokens for programs
  ZT_IDENTITY_INVALID_CREDENTIALS:
    'sign-in failed: the email, password or code is wrong (the message never says which)',
  ZT_IDENTITY_THROTTLED:
    'too many failed sign-ins from this account or address: wait the time given and try again',
  ZT_IDENTITY_LOCKED_OUT:
    'the account or address is locked for a while after repeated failed sign-ins (audited)',
  ZT_IDENTITY_USER_UNKNOWN: 'no user has this email address',
  ZT_IDENTITY_USER_EXISTS: 'a user with this email address already exists',
  ZT_IDENTITY_USER_DISABLED: 'the user is disabled and cannot sign in or use tokens',
  ZT_IDENTITY_PASSWORD_POLICY: 'a new password is too short, too long or otherwise not acceptable',
  ZT_IDENTITY_PASSWORD_HASH_INVALID:
    'a stored password hash is malformed or uses parameters ztgate does not accept',
  ZT_IDENTITY_MFA_NOT_ENROLLED: 'the user has no second factor of the kind asked for',
  ZT_IDENTITY_MFA_ALREADY_ENROLLED:
    'the user already has this second factor: reset it first (`ztgate user mfa reset`)',
  ZT_IDENTITY_WEBAUTHN_FAILED: 'a passkey registration or sign-in could not be verified',
  ZT_IDENTITY_SESSION_INVALID:
    'the session is missing, unknown, expired, idle too long or revoked: sign in again',
  ZT_IDENTITY_SESSION_DEVICE_MISMATCH:
    'the session is bound to a device certificate that was not presented with it',
  ZT_IDENTITY_SESSION_NOT_FOUND: 'no session matches the id given to `ztgate session revoke`',
  ZT_IDENTITY_REVALIDATION_FAILED:
    'the identity provider no longer accepts the session (user disabled or removed): it was ended',
  ZT_IDENTITY_LOGIN_STATE_INVALID:
    'a sign-in response has a missing, unknown, used or foreign `state` (or came back to another browser)',
  ZT_IDENTITY_IDP_RESPONSE_INVALID:
    'the identity provider’s response or ID token failed validation (signature, issuer, audience, nonce, expiry, algorithm)',
  ZT_IDENTITY_IDP_ERROR: 'the identity provider returned an error instead of signing the user in',
  ZT_IDENTITY_IDP_UNAVAILABLE:
    'the identity provider cannot be reached (discovery, keys or token endpoint); access is refused until it returns',
  ZT_IDENTITY_ACCOUNT_CONFLICT:
    'an identity from the provider has the email of a different existing user, so it is not linked to it',
  ZT_IDENTITY_STEP_UP_FAILED:
    'the step-up sign-in did not give the fresh multi-factor authentication the policy asks for, or came back for another user',
  ZT_IDENTITY_RETURN_URL_REFUSED:
    'a return URL points outside ztgate and its routes, or is written in an ambiguous way',
  ZT_IDENTITY_HANDOFF_INVALID:
    'a sign-in handoff ticket (`/.ztgate/callback`) is malformed, forged or for another host (audited)',
  ZT_IDENTITY_HANDOFF_EXPIRED:
    'a sign-in handoff ticket is older than 60 seconds: open the app again to get a new one',
  ZT_IDENTITY_HANDOFF_REPLAYED:
    'a sign-in handoff ticket was already used (each works once, on every replica) (audited)',
  ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH:
    'a sign-in handoff ticket was started in another browser: the route host has no nonce cookie, or another one (login CSRF) (audited)',
  ZT_IDENTITY_LOGOUT_TOKEN_INVALID: 'a back-channel logout token failed validation',
  ZT_IDENTITY_TOKEN_INVALID:
    'a bearer token is malformed, badly signed, for another issuer or audience, expired or not yet valid',
  ZT_IDENTITY_TOKEN_REVOKED: 'a bearer token was revoked (`ztgate token revoke`) or is unknown',
  ZT_IDENTITY_TOKEN_TTL_INVALID: 'a token lifetime is not a duration from 1 minute to 24 hours',
  ZT_IDENTITY_SERVICE_ACCOUNT_UNKNOWN: 'no service account has this name',
  ZT_IDENTITY_SERVICE_ACCOUNT_EXISTS: 'a service account with this name already exists',
  ZT_IDENTITY_KEY_FILE:
    'the identity secret key file in the data directory is unreadable, malformed or readable by others (must be 0600)',
  ZT_IDENTITY_SECRET_UNREADABLE:
    'an encrypted identity record cannot be decrypted with the key in the data directory',

  // device: enrollment, posture reports, signals and the agent
  ZT_DEVICE_SETTINGS_INVALID:
    'the device trust settings (`devices:` tiers, TTLs, webhooks) are malformed; the message names the key',
  ZT_DEVICE_REQUEST_MALFORMED:
    'a device endpoint received a request that is not a JSON object of the expected shape (or has the wrong method or content type)',
  ZT_DEVICE_REQUEST_TOO_LARGE: 'a device endpoint received a body larger than it accepts',
  ZT_DEVICE_ENROLL_CODE_INVALID:
    'an enrollment code is unknown, expired or already used: ask the portal for a new one (audited)',
  ZT_DEVICE_CSR_INVALID:
    'the certificate signing request of an enrollment or renewal is malformed, badly signed, or for a key ztgate does not accept for devices (ECDSA P-256 or P-384)',
  ZT_DEVICE_CSR_IDENTITY_MISMATCH:
    'the certificate signing request names another user than the one the enrollment code was issued to, or names a device (audited)',
  ZT_DEVICE_ISSUANCE_FAILED:
    'the certificate authority did not issue the device certificate; the device was not enrolled or renewed',
  ZT_DEVICE_CLIENT_CERT_REQUIRED:
    'a device endpoint that needs the device certificate (posture report, renewal) was called without a verified client certificate',
  ZT_DEVICE_CLIENT_CERT_UNKNOWN:
    'the client certificate presented is not the current certificate of any enrolled device (superseded, foreign or forged) (audited)',
  ZT_DEVICE_REVOKED: 'the device was revoked: it can no longer report or renew; enroll it again',
  ZT_DEVICE_REPORT_INVALID:
    'a posture report breaks the report schema (unknown or mistyped attribute, bad sequence number or time, too many attributes) (audited)',
  ZT_DEVICE_REPORT_WRONG_DEVICE:
    'a posture report names another device than the one whose certificate sent it (audited)',
  ZT_DEVICE_REPORT_REPLAYED:
    'a posture report was refused as a replay: its sequence number is not above the last accepted one, or its time is outside the accepted window (audited)',
  ZT_DEVICE_NOT_FOUND: 'no device has the given id',
  ZT_DEVICE_WEBHOOK_UNKNOWN: 'a posture webhook was called under a name that is not configured',
  ZT_DEVICE_WEBHOOK_SIGNATURE:
    'a posture webhook request has a missing or wrong HMAC-SHA256 signature (audited)',
  ZT_DEVICE_WEBHOOK_STALE:
    'a posture webhook request has a missing or malformed timestamp, or one outside the accepted window (audited)',
  ZT_DEVICE_WEBHOOK_REPLAYED:
    'a posture webhook request was already received (same signature within the window) (audited)',
  ZT_DEVICE_WEBHOOK_UNMATCHED:
    'a posture webhook payload does not name exactly one enrolled device, or a mapped value has the wrong type',
  ZT_DEVICE_WEBHOOK_SECRET:
    'a posture webhook secret file is missing, empty, unreadable or readable by group or others (must be 0600)',
  ZT_DEVICE_STORE_FAILED:
    'the device inventory could not be read or written (store unavailable); the request was refused and nothing was changed',
  ZT_DEVICE_COLLECTOR_FAILED:
    'a posture collector failed or timed out on the device; its attributes are left out of the report with the reason (warning)',
  ZT_DEVICE_AGENT_NOT_ENROLLED:
    'the agent directory holds no enrolled device: run `ztgate agent enroll --server URL --code CODE` first',
  ZT_DEVICE_AGENT_FILES:
    'an agent file (key, certificate, state) is unreadable, malformed, or readable by group or others (must be 0600, directory 0700)',
  ZT_DEVICE_SERVER_UNREACHABLE:
    'the agent could not reach the ztgate server (DNS, connection, TLS verification or timeout); it retries with backoff',
  ZT_DEVICE_SERVER_REFUSED:
    'the ztgate server refused an agent request; the message carries the server error code',

  // pep: the identity-aware proxy, WebSocket tunnels and forward-auth endpoints
  ZT_PEP_REQUEST_REJECTED:
    'a request was refused with 400 before any decision: an ambiguous path encoding (`%2f`, `%5c`, `%00`, `\\`, dot segments above the root, overlong UTF-8) or a smuggling or host confusion vector (duplicate `Host` or `Content-Length`, `Content-Length` with `Transfer-Encoding`, `Host` with user info, an absolute-form target naming another host); the reason code is in the response and the access log',
  ZT_PEP_ROUTE_NOT_FOUND: 'no route serves the request host and path: 404',
  ZT_PEP_DEPENDENCY_UNAVAILABLE:
    'identity, device facts or the store could not be consulted, so the request was refused with 503 (fail closed); access returns on its own when they recover',
  ZT_PEP_UPSTREAM_UNREACHABLE:
    'the upstream refused or reset the connection, or its name did not resolve: 502 with the request id',
  ZT_PEP_UPSTREAM_TIMEOUT: 'the upstream did not answer within the upstream timeout: 504',
  ZT_PEP_BODY_TOO_LARGE: 'the request body is larger than the proxy accepts: 413',
  ZT_PEP_FORWARD_AUTH_ORIGINAL_MISSING:
    'a forward-auth request did not say which request to authorize (`X-Forwarded-Host`, `X-Forwarded-Uri` or `X-Original-URI` missing), or came from a peer that is not a trusted proxy, whose forwarding headers are ignored',
  ZT_PEP_TUNNEL_CLOSED:
    'an open WebSocket was closed because its session or device was revoked or the policy no longer allows it (logged)',
  ZT_PEP_DRAIN_TIMEOUT:
    'at shutdown, requests still running at the drain deadline were cut (warning)',
  ZT_PEP_TLS_INVALID: 'the listener certificate or key is unreadable, malformed or do not match',
  ZT_PEP_LISTEN_FAILED:
    'the proxy or metrics listener could not bind its address (in use, not permitted)',
  ZT_PEP_INTERNAL:
    'an unexpected error while handling a request; it was refused with 500 and the request id is in the log line',

  // admin: the admin REST API (`{public_url}/api/v1/`)
  ZT_ADMIN_UNAUTHENTICATED:
    'an admin API request carried no valid credential (no session cookie, no API token, or one that is expired or revoked): 401',
  ZT_ADMIN_FORBIDDEN:
    'the signed-in user or API token may not use this admin endpoint: the admin policy (`ztgate-admin`) does not allow the session, or the change is reserved to signed-in admins: 403 (audited)',
  ZT_ADMIN_STEP_UP_REQUIRED:
    'the admin policy asks for a fresher multi-factor authentication than the session has: sign in again with MFA, then retry: 403',
  ZT_ADMIN_SCOPE_MISSING: 'the API token lacks the scope this endpoint needs: 403 (audited)',
  ZT_ADMIN_SESSION_REQUIRED:
    "a user portal endpoint (`/api/v1/me/...`) was called with an API token: it acts on the signed-in user's own sessions and devices, so only their session may call it: 403",
  ZT_ADMIN_CSRF_REFUSED:
    'a cookie-authenticated admin API request that changes state came without the `Origin` of `public_url` or without the `X-Ztgate-Csrf: 1` header: 403',
  ZT_ADMIN_TOKEN_INVALID:
    'an admin API token is malformed, unknown, expired or revoked, or its creator is disabled: 401',
  ZT_ADMIN_REQUEST_INVALID:
    'an admin API request is malformed: bad JSON, a forbidden key (`__proto__`), an unknown or invalid parameter, a malformed id: 400',
  ZT_ADMIN_UNSUPPORTED_MEDIA_TYPE: 'an admin API request body is not `application/json`: 415',
  ZT_ADMIN_BODY_TOO_LARGE: 'an admin API request body is larger than the API accepts: 413',
  ZT_ADMIN_NOT_FOUND: 'no admin API endpoint or record matches the request: 404',
  ZT_ADMIN_METHOD_NOT_ALLOWED: 'the admin API endpoint does not support this HTTP method: 405',
  ZT_ADMIN_CONFIG_INVALID:
    'a routes and policies document sent to the admin API failed validation; every problem is listed with its key path: 400',
  ZT_ADMIN_PRECONDITION_FAILED:
    'an admin API change named a config version (`If-Match`) that is no longer the current one: read again and retry: 412',
  ZT_ADMIN_CONFLICT:
    'an admin API change conflicts with the current state (a record that exists already, a concurrent edit): 409',
  ZT_ADMIN_LOCKOUT:
    'an admin API change to the `ztgate-admin` policy would refuse the admin making it; make the change from a session the new policy allows: 409',
  ZT_ADMIN_UNAVAILABLE:
    'the admin API cannot serve the request now: the store, identity or audit log is unavailable, or a component it needs (the CA) is not configured: 503',
  ZT_ADMIN_INTERNAL:
    'an unexpected error in the admin API; the response carries only the request id, which the log line also has: 500',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof errorCatalog;
