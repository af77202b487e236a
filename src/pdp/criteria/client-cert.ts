/**
 * `client_cert: true` or `client_cert: {spiffe_id, fingerprint}` — the connection presented a
 * verified client certificate (the PEP verified the chain; the PDP sees only its facts).
 * A missing certificate is a plain "false", not "unknown": its absence is a fact the PEP knows.
 */
import type { Reason } from '../decision.js';
import type { ClientCertFacts, DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import {
  asList,
  child,
  listText,
  locationOf,
  makeReasons,
  report,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { GlobSet } from '../match/glob.js';
import { stringField } from './facts.js';

type PresentNode = Extract<Criterion, { kind: 'client-cert-present' }>;
type SpiffeNode = Extract<Criterion, { kind: 'client-cert-spiffe' }>;
type FingerprintNode = Extract<Criterion, { kind: 'client-cert-fingerprint' }>;

const MISSING = 'this requires a client certificate';
/** spiffe://trust-domain/path, with `*`/`**` allowed as whole path segments or inside them */
const SPIFFE_PATTERN = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._*-]+)*$/;
const FINGERPRINT = /^[0-9a-f]{64}$/;

export function normalizeFingerprint(text: string): string {
  return text.replace(/:/g, '').toLowerCase();
}

export function parseClientCert(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const spec =
    value === true
      ? {}
      : (value as { spiffe_id?: string | string[]; fingerprint?: string | string[] });
  const out: Criterion[] = [];
  if (spec.spiffe_id !== undefined) {
    const here = child(place, 'spiffe_id');
    const patterns = asList(spec.spiffe_id);
    let ok = true;
    patterns.forEach((p, i) => {
      if (!SPIFFE_PATTERN.test(p)) {
        ok = false;
        report(
          ctx,
          (Array.isArray(spec.spiffe_id) ? child(here, i) : here).path,
          'ZT_POLICY_INVALID_GLOB',
          `\`${p.slice(0, 200)}\` is not a SPIFFE ID pattern`,
          'write `spiffe://trust-domain/path`, with a lower-case trust domain; `*` and `**` may stand for path segments',
        );
      }
    });
    const { set, errors } = GlobSet.compile(patterns);
    for (const e of errors) {
      ok = false;
      report(
        ctx,
        (Array.isArray(spec.spiffe_id) ? child(here, e.index) : here).path,
        'ZT_POLICY_INVALID_GLOB',
        e.message,
      );
    }
    if (ok) {
      out.push({
        kind: 'client-cert-spiffe',
        patterns: set,
        criterion: here.criterion,
        at: locationOf(ctx, here),
        describe: `SPIFFE ID ${listText(patterns)}`,
        reasons: makeReasons(ctx, here, {
          'client-cert-missing': MISSING,
          'client-cert-not-allowed': 'the client certificate is not one this rule accepts',
        }),
      });
    }
  }
  if (spec.fingerprint !== undefined) {
    const here = child(place, 'fingerprint');
    const fingerprints = new Set<string>();
    let ok = true;
    asList(spec.fingerprint).forEach((f, i) => {
      const n = normalizeFingerprint(f);
      if (!FINGERPRINT.test(n)) {
        ok = false;
        report(
          ctx,
          (Array.isArray(spec.fingerprint) ? child(here, i) : here).path,
          'ZT_POLICY_INVALID_VALUE',
          `\`${f.slice(0, 200)}\` is not a SHA-256 fingerprint`,
          'give 64 hexadecimal digits, with or without colons (`openssl x509 -noout -fingerprint -sha256`)',
        );
      } else fingerprints.add(n);
    });
    if (ok) {
      out.push({
        kind: 'client-cert-fingerprint',
        fingerprints,
        criterion: here.criterion,
        at: locationOf(ctx, here),
        describe: `certificate fingerprint ${listText([...fingerprints].map((f) => f.slice(0, 12) + '…'))}`,
        reasons: makeReasons(ctx, here, {
          'client-cert-missing': MISSING,
          'client-cert-not-allowed': 'the client certificate is not one this rule accepts',
        }),
      });
    }
  }
  if (spec.spiffe_id === undefined && spec.fingerprint === undefined) {
    out.push({
      kind: 'client-cert-present',
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: 'a verified client certificate',
      reasons: makeReasons(ctx, place, { 'client-cert-missing': MISSING }),
    });
  }
  return out;
}

function certOf(input: DecisionInput): ClientCertFacts | undefined {
  const cert = input.client_cert;
  if (cert === null || typeof cert !== 'object') return undefined;
  return stringField(cert.fingerprint) !== undefined || stringField(cert.spiffe_id) !== undefined
    ? cert
    : undefined;
}

export function evaluateClientCertPresent(node: PresentNode, input: DecisionInput): Reason | null {
  return certOf(input) ? null : (node.reasons['client-cert-missing'] ?? null);
}

export function evaluateClientCertSpiffe(node: SpiffeNode, input: DecisionInput): Reason | null {
  const cert = certOf(input);
  if (!cert) return node.reasons['client-cert-missing'] ?? null;
  const id = stringField(cert.spiffe_id);
  return id !== undefined && node.patterns.matches(id)
    ? null
    : (node.reasons['client-cert-not-allowed'] ?? null);
}

export function evaluateClientCertFingerprint(
  node: FingerprintNode,
  input: DecisionInput,
): Reason | null {
  const cert = certOf(input);
  if (!cert) return node.reasons['client-cert-missing'] ?? null;
  const fp = stringField(cert.fingerprint);
  return fp !== undefined && node.fingerprints.has(normalizeFingerprint(fp))
    ? null
    : (node.reasons['client-cert-not-allowed'] ?? null);
}
