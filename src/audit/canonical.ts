/**
 * Canonical JSON, the form of an audit record that is hashed and signed.
 *
 * It is RFC 8785 (JSON Canonicalization Scheme) for the values ztgate writes: object keys sorted by
 * UTF-16 code units, no whitespace, strings and numbers serialized exactly as ECMAScript's
 * `JSON.stringify` does (shortest round-trip numbers, `-0` as `0`, minimal escapes). Keys whose
 * value is `undefined` are left out. Anything that is not plain JSON (NaN, Infinity, BigInt,
 * functions, class instances such as Date, `undefined` in an array, cycles) is refused, so the
 * same record always gives the same bytes on every machine and in every language with a JCS library.
 */
import { ZtError } from '../shared/errors.js';

const MAX_DEPTH = 32;

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw invalid(`a number must be finite, not ${String(value)}`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) throw invalid(`nested deeper than ${MAX_DEPTH} levels`);
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw invalid('an array holds `undefined`');
          out += (i === 0 ? '' : ',') + write(item, depth + 1);
        }
        return `${out}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        throw invalid('a value is not a plain object');
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        out += `${first ? '' : ','}${quoteKey(k)}:${write(v, depth + 1)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw invalid(`a ${typeof value} is not JSON`);
  }
}

/** Quoted object keys, memoized: the same few keys recur in every record. */
const quoted = new Map<string, string>();

function quoteKey(k: string): string {
  let q = quoted.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quoted.size < 4096) quoted.set(k, q);
  }
  return q;
}

function invalid(message: string): ZtError {
  return new ZtError('ZT_AUDIT_RECORD_INVALID', `the audit record is not plain JSON: ${message}`);
}
