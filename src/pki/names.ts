/**
 * The names a certificate may carry, validated before anything is issued: DNS names, IP
 * addresses, device and user ids. Each parser returns the canonical form or throws
 * `ZT_PKI_NAME_INVALID` with a message that names the offending value.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PkiError, quote } from './errors.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS name for a server certificate, lower-cased: letters, digits and hyphens in labels of 1-63
 * characters, 253 at most in all. A wildcard is a whole leftmost label (`*.localhost`) followed by
 * at least one label. Internationalized names must be given in their `xn--` form.
 */
export function parseDnsName(input: string): string {
  const name = input.toLowerCase();
  const fail = (why: string, help?: string): never => {
    throw new PkiError('ZT_PKI_NAME_INVALID', `the DNS name ${quote(input)} ${why}`, {
      ...(help ? { help } : {}),
    });
  };
  if (name.length === 0) fail('is empty');
  if (name.length > 253) fail('is longer than 253 characters');
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(name)) {
    fail('is not ASCII', 'give an internationalized name in its punycode form (`xn--...`)');
  }
  if (name.endsWith('.')) fail('ends with a dot', 'leave out the final dot');
  const labels = name.split('.');
  labels.forEach((label, i) => {
    if (label === '*') {
      if (i !== 0) fail('has a wildcard that is not the leftmost label');
      if (labels.length < 2) fail('is a bare wildcard', 'write `*.example.com`');
      return;
    }
    if (label.length === 0) fail('has an empty label');
    if (label.includes('*'))
      fail('has a partial wildcard', 'a wildcard must be a whole label: `*.example.com`');
    if (!LABEL.test(label)) {
      fail(
        label.length > 63
          ? 'has a label longer than 63 characters'
          : `has the label ${quote(label)}: labels hold letters, digits and inner hyphens`,
      );
    }
  });
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
    fail('looks like an IP address', 'give IP addresses as IP names (`--ip`)');
  }
  return name;
}

export interface IpName {
  /** canonical text: dotted IPv4, compressed lower-case IPv6 */
  readonly text: string;
  /** 4 or 16 bytes */
  readonly bytes: Buffer;
}

/** An IPv4 or IPv6 address (no zone, no prefix). */
export function parseIpAddress(input: string): IpName {
  if (isIPv4(input)) {
    const bytes = Buffer.from(input.split('.').map(Number));
    return { text: [...bytes].join('.'), bytes };
  }
  if (isIPv6(input) && !input.includes('%')) {
    const bytes = ipv6Bytes(input);
    return { text: formatIpv6(bytes), bytes };
  }
  throw new PkiError('ZT_PKI_NAME_INVALID', `${quote(input)} is not an IPv4 or IPv6 address`, {
    help: 'write an address such as `127.0.0.1` or `::1`, without a port, prefix or zone',
  });
}

function ipv6Bytes(input: string): Buffer {
  let text = input;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // an embedded IPv4 address (`::ffff:1.2.3.4`): rewrite it as two hex groups
    const v4 = tail.split('.').map(Number);
    const g = (a: number, b: number) => ((a << 8) | b).toString(16);
    text = `${text.slice(0, lastColon + 1)}${g(v4[0] ?? 0, v4[1] ?? 0)}:${g(v4[2] ?? 0, v4[3] ?? 0)}`;
  }
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const double = text.indexOf('::');
  const groups =
    double < 0
      ? split(text)
      : (() => {
          const l = split(text.slice(0, double));
          const r = split(text.slice(double + 2));
          return [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
        })();
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** RFC 5952 text form of an IPv6 address. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The text form of an iPAddress general name's bytes. */
export function formatIpBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) return formatIpv6(bytes);
  return `invalid(${Buffer.from(bytes).toString('hex')})`;
}

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,255}$/;

/** A device id as the inventory assigns it: letters, digits, `.`, `_`, `-`; 128 at most. */
export function parseDeviceId(input: string): string {
  if (!DEVICE_ID.test(input)) {
    throw new PkiError('ZT_PKI_NAME_INVALID', `the device id ${quote(input)} is malformed`, {
      help: 'a device id is 1-128 letters, digits, `.`, `_` or `-`, starting with a letter or digit',
    });
  }
  return input;
}

/** A user id (or email): letters, digits, `.`, `_`, `@`, `+`, `-`; 256 at most. */
export function parseUserId(input: string): string {
  if (!USER_ID.test(input)) {
    throw new PkiError('ZT_PKI_NAME_INVALID', `the user id ${quote(input)} is malformed`, {
      help: 'a user id is 1-256 letters, digits, `.`, `_`, `@`, `+` or `-`, starting with a letter or digit',
    });
  }
  return input;
}

export const DEVICE_URN_PREFIX = 'urn:ztgate:device:';
export const USER_URN_PREFIX = 'urn:ztgate:user:';
