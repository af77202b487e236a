/**
 * The criteria registry: how each criterion key parses, how each node kind evaluates, and the
 * canonical order in which a rule's children run.
 *
 * The order is part of the language's semantics (it picks which reason a failing rule reports):
 * cheap request facts first, then certificate, identity and device, then nested combinators, and
 * MFA last, so that a step-up is only offered when MFA is all a rule is missing.
 */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion, NodeKind } from '../lang/ast.js';
import type { ParseContext, Place } from '../lang/context.js';
import type { CriterionKey } from '../lang/schema.js';
import { evaluateAuthenticated, parseAuthenticated } from './authenticated.js';
import { evaluateClaim, parseClaims } from './claims.js';
import {
  evaluateClientCertFingerprint,
  evaluateClientCertPresent,
  evaluateClientCertSpiffe,
  parseClientCert,
} from './client-cert.js';
import { evaluateCountries, parseCountries } from './countries.js';
import {
  evaluateDeviceKnown,
  evaluateDeviceManaged,
  evaluateDevicePosture,
  evaluateDeviceTier,
  parseDevice,
} from './device.js';
import { evaluateDomains, parseDomains } from './domains.js';
import { evaluateGroups, parseGroups } from './groups.js';
import { evaluateMethods, parseMethods } from './methods.js';
import { evaluateMfa, parseMfa } from './mfa.js';
import { evaluatePaths, parsePaths } from './paths.js';
import { evaluatePublic, parsePublic } from './public.js';
import { evaluateRisk, parseRisk } from './risk.js';
import { evaluateSourceIp, parseSourceIp } from './source-ip.js';
import { evaluateTime, parseTime } from './time.js';
import { evaluateUsers, parseUsers } from './users.js';

export type CriterionParser = (value: unknown, place: Place, ctx: ParseContext) => Criterion[];

export const parsers: Readonly<Record<CriterionKey, CriterionParser>> = {
  public: parsePublic,
  authenticated: parseAuthenticated,
  users: parseUsers,
  domains: parseDomains,
  groups: parseGroups,
  claims: parseClaims,
  mfa: parseMfa,
  device: parseDevice,
  methods: parseMethods,
  paths: parsePaths,
  time: parseTime,
  source_ip: parseSourceIp,
  countries: parseCountries,
  risk: parseRisk,
  client_cert: parseClientCert,
};

/** Canonical evaluation order of node kinds within a rule (lower runs first). */
export const ORDER: Readonly<Record<NodeKind, number>> = {
  public: 0,
  methods: 10,
  paths: 11,
  'source-ip': 12,
  countries: 13,
  time: 14,
  risk: 15,
  'client-cert-present': 20,
  'client-cert-spiffe': 21,
  'client-cert-fingerprint': 22,
  authenticated: 30,
  users: 31,
  domains: 32,
  groups: 33,
  claim: 34,
  'device-known': 40,
  'device-managed': 41,
  'device-tier': 42,
  'device-posture': 43,
  any: 50,
  all: 51,
  not: 52,
  mfa: 60,
};

/** Node kinds that depend only on the network. */
export const NETWORK_KINDS: ReadonlySet<NodeKind> = new Set(['source-ip', 'countries']);
/** Node kinds that establish who or what is asking: a rule needs one of these to be more than a network rule. */
export const CREDENTIAL_KINDS: ReadonlySet<NodeKind> = new Set([
  'authenticated',
  'users',
  'domains',
  'groups',
  'claim',
  'mfa',
  'device-known',
  'device-managed',
  'device-tier',
  'device-posture',
  'client-cert-present',
  'client-cert-spiffe',
  'client-cert-fingerprint',
]);

/** Evaluates one criterion node: null when it holds, else the reason it does not. */
export function evaluateCriterion(node: Criterion, input: DecisionInput): Reason | null {
  switch (node.kind) {
    case 'public':
      return evaluatePublic();
    case 'authenticated':
      return evaluateAuthenticated(node, input);
    case 'users':
      return evaluateUsers(node, input);
    case 'domains':
      return evaluateDomains(node, input);
    case 'groups':
      return evaluateGroups(node, input);
    case 'claim':
      return evaluateClaim(node, input);
    case 'mfa':
      return evaluateMfa(node, input);
    case 'device-known':
      return evaluateDeviceKnown(node, input);
    case 'device-managed':
      return evaluateDeviceManaged(node, input);
    case 'device-tier':
      return evaluateDeviceTier(node, input);
    case 'device-posture':
      return evaluateDevicePosture(node, input);
    case 'methods':
      return evaluateMethods(node, input);
    case 'paths':
      return evaluatePaths(node, input);
    case 'time':
      return evaluateTime(node, input);
    case 'source-ip':
      return evaluateSourceIp(node, input);
    case 'countries':
      return evaluateCountries(node, input);
    case 'risk':
      return evaluateRisk(node, input);
    case 'client-cert-present':
      return evaluateClientCertPresent(node, input);
    case 'client-cert-spiffe':
      return evaluateClientCertSpiffe(node, input);
    case 'client-cert-fingerprint':
      return evaluateClientCertFingerprint(node, input);
  }
}
