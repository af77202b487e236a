/**
 * SPIFFE IDs (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md), parsed the way
 * go-spiffe does: `spiffe://<trust domain><path>`, 2048 bytes at most; the trust domain is
 * lower-case letters, digits, `.`, `-` and `_` (no port, no user info); the path is a list of
 * `/segment`s of letters, digits, `.`, `-` and `_`, none empty, `.` or `..` (so no trailing slash);
 * no query, no fragment, no percent-encoding, no wildcard.
 */
import { PkiError, quote } from './errors.js';

export interface SpiffeId {
  /** the whole ID, exactly as given (it is already canonical when it parses) */
  readonly id: string;
  readonly trustDomain: string;
  /** `''` for the trust domain's own ID, else `/a/b` */
  readonly path: string;
}

export const SPIFFE_MAX_LENGTH = 2048;
export const TRUST_DOMAIN_MAX_LENGTH = 255;
const SCHEME = 'spiffe://';
const TD_CHAR = /^[a-z0-9._-]$/;
const SEGMENT_CHAR = /^[A-Za-z0-9._-]$/;

function fail(input: string, why: string, help?: string): never {
  throw new PkiError('ZT_PKI_SPIFFE_ID_INVALID', `the SPIFFE ID ${quote(input)} ${why}`, {
    help: help ?? 'write it as `spiffe://trust-domain/path/to/workload` (see docs/pki.md)',
  });
}

/** Parses a SPIFFE ID; with `leaf: true` (an SVID's ID) the path must not be empty. */
export function parseSpiffeId(input: string, options: { leaf?: boolean } = {}): SpiffeId {
  if (input.length > SPIFFE_MAX_LENGTH) fail(input, `is longer than ${SPIFFE_MAX_LENGTH} bytes`);
  if (!input.startsWith(SCHEME)) {
    if (input.toLowerCase().startsWith(SCHEME))
      fail(input, 'has an upper-case scheme', 'write `spiffe://` in lower case');
    fail(input, 'does not start with `spiffe://`');
  }
  const rest = input.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const td = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  parseTrustDomainIn(input, td);
  if (path !== '') {
    const segments = path.slice(1).split('/');
    for (const segment of segments) {
      if (segment === '') {
        fail(
          input,
          path.endsWith('/') && segments[segments.length - 1] === ''
            ? 'ends with a slash'
            : 'has an empty path segment (`//`)',
        );
      }
      if (segment === '.' || segment === '..') fail(input, `has a dot segment ${quote(segment)}`);
      for (const ch of segment) {
        if (SEGMENT_CHAR.test(ch)) continue;
        if (ch === '?') fail(input, 'has a query', 'a SPIFFE ID has no `?query`');
        if (ch === '#') fail(input, 'has a fragment', 'a SPIFFE ID has no `#fragment`');
        if (ch === '*') fail(input, 'has a wildcard', 'a SPIFFE ID names one workload: no `*`');
        if (ch === '%')
          fail(
            input,
            'is percent-encoded',
            'path segments hold only letters, digits, `.`, `-` and `_`',
          );
        fail(
          input,
          `has the character ${quote(ch)} in its path`,
          'path segments hold only letters, digits, `.`, `-` and `_`',
        );
      }
    }
  } else if (options.leaf) {
    fail(input, 'has no path', 'a workload SPIFFE ID needs a path: `spiffe://trust-domain/path`');
  }
  return { id: input, trustDomain: td, path };
}

function parseTrustDomainIn(input: string, td: string): void {
  if (td.length === 0) fail(input, 'has no trust domain');
  if (td.length > TRUST_DOMAIN_MAX_LENGTH)
    fail(input, `has a trust domain longer than ${TRUST_DOMAIN_MAX_LENGTH} bytes`);
  for (const ch of td) {
    if (TD_CHAR.test(ch)) continue;
    if (/[A-Z]/.test(ch))
      fail(input, 'has upper-case letters in its trust domain', 'trust domains are lower case');
    if (ch === ':') fail(input, 'has a port', 'a SPIFFE trust domain has no `:port`');
    if (ch === '@') fail(input, 'has user info', 'a SPIFFE trust domain has no `user@`');
    if (ch === '?') fail(input, 'has a query', 'a SPIFFE ID has no `?query`');
    if (ch === '#') fail(input, 'has a fragment', 'a SPIFFE ID has no `#fragment`');
    if (ch === '*') fail(input, 'has a wildcard', 'a SPIFFE ID names one workload: no `*`');
    fail(
      input,
      `has the character ${quote(ch)} in its trust domain`,
      'trust domains hold lower-case letters, digits, `.`, `-` and `_`',
    );
  }
}

/** A trust domain name on its own (`example.org`), as given to `ztgate ca init --trust-domain`. */
export function parseTrustDomain(input: string): string {
  if (input.startsWith(SCHEME)) {
    const id = parseSpiffeId(input);
    if (id.path !== '') fail(input, 'is a workload ID, not a trust domain');
    return id.trustDomain;
  }
  parseTrustDomainIn(`${SCHEME}${input}`, input);
  return input;
}

export function formatSpiffeId(trustDomain: string, segments: readonly string[]): string {
  return `${SCHEME}${trustDomain}${segments.map((s) => `/${s}`).join('')}`;
}

/** True when `id` equals `prefix` or lies below it (`spiffe://td/ns/a` is below `spiffe://td/ns`). */
export function spiffeIdHasPrefix(id: string, prefix: string): boolean {
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return id === p || id.startsWith(`${p}/`);
}
