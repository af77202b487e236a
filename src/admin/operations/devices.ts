/** The device inventory and the certificates of the internal CA. */
import { z } from 'zod';
import { listDevices, revokeDevice, showDevice } from '../../device/inventory.js';
import type { RevocationReason as DeviceRevocationReason } from '../../device/enroll/issuer.js';
import { DEFAULT_DEVICE_SETTINGS } from '../../device/settings.js';
import { REVOCATION_REASONS } from '../../pki/crl/crl.js';
import type { CertificateRecord } from '../../store/store.js';
import { actorOf } from '../auth/principal.js';
import { op, type Operation } from '../operation.js';
import { AdminError, notFound } from '../problem.js';
import {
  BoolQuery,
  CursorQuery,
  DeviceIdParam,
  LimitQuery,
  PageOf,
  SerialParam,
  iso,
  isoOrNull,
} from '../schemas.js';

const DeviceSummary = z
  .object({
    id: z.string(),
    user_id: z.string(),
    hostname: z.string(),
    os: z.string(),
    state: z.enum(['pending', 'active', 'revoked']),
    enrolled_at: z.string(),
    last_report_at: z.string().nullable(),
    certificate_serial: z.string().nullable(),
    managed: z.boolean(),
    tier: z.string().nullable(),
    stale: z.boolean(),
    posture: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])),
  })
  .meta({ id: 'Device', description: 'A device with the facts policies see now.' });

const DeviceDetails = DeviceSummary.extend({
  sources: z.array(
    z.object({
      source: z.string(),
      received_at: z.string(),
      age_s: z.number(),
      stale: z.boolean(),
    }),
  ),
  unavailable: z.record(z.string(), z.string()),
  tiers: z.array(z.object({ name: z.string(), missing: z.array(z.string()) })),
  history: z.array(z.record(z.string(), z.unknown())),
}).meta({ id: 'DeviceDetails' });

const DEVICE_REASONS = [
  'cessationOfOperation',
  'keyCompromise',
  'superseded',
  'affiliationChanged',
] as const satisfies readonly DeviceRevocationReason[];

const CertificateView = z
  .object({
    serial: z.string(),
    kind: z.enum(['ca', 'server', 'device', 'workload', 'client']),
    subject: z.string(),
    names: z.array(z.string()).nullable(),
    issuer_serial: z.string().nullable(),
    not_before: z.string(),
    not_after: z.string(),
    revoked_at: z.string().nullable(),
    revocation_reason: z.string().nullable(),
  })
  .meta({ id: 'Certificate' });

function certificateView(r: CertificateRecord): z.infer<typeof CertificateView> {
  return {
    serial: r.serial,
    kind: r.kind,
    subject: r.subject,
    names: r.names === null ? null : [...r.names],
    issuer_serial: r.issuerSerial,
    not_before: iso(r.notBefore),
    not_after: iso(r.notAfter),
    revoked_at: isoOrNull(r.revokedAt),
    revocation_reason: r.revocationReason,
  };
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

export function deviceOperations(): Operation[] {
  return [
    op({
      id: 'listDevices',
      method: 'GET',
      path: '/devices',
      tag: 'devices',
      summary: 'Devices with their state, tier and posture freshness',
      access: 'admin',
      scope: 'devices:read',
      query: z.strictObject({
        user_id: z.string().max(256).optional(),
        state: z.enum(['pending', 'active', 'revoked']).optional(),
        limit: LimitQuery,
        cursor: CursorQuery,
      }),
      success: {
        status: 200,
        description: 'a page of devices',
        schema: PageOf('devices', DeviceSummary),
      },
      async handle(ctx) {
        const q = ctx.query;
        const page = await listDevices(ctx.deps.store.devices, {
          now: ctx.now,
          settings: ctx.deps.deviceSettings?.() ?? DEFAULT_DEVICE_SETTINGS,
          ...(q.user_id !== undefined ? { user: q.user_id } : {}),
          ...(q.state !== undefined ? { state: q.state } : {}),
          ...(q.limit !== undefined ? { limit: q.limit } : {}),
          ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        });
        return { status: 200, body: page };
      },
    }),
    op({
      id: 'getDevice',
      method: 'GET',
      path: '/devices/{id}',
      tag: 'devices',
      summary: 'One device: the facts policies see, missing attributes, tiers, history',
      access: 'admin',
      scope: 'devices:read',
      params: z.strictObject({ id: DeviceIdParam }),
      success: { status: 200, description: 'the device', schema: DeviceDetails },
      async handle(ctx) {
        const d = await showDevice(ctx.deps.store.devices, ctx.params.id, {
          now: ctx.now,
          settings: ctx.deps.deviceSettings?.() ?? DEFAULT_DEVICE_SETTINGS,
        });
        return { status: 200, body: d };
      },
    }),
    op({
      id: 'revokeDevice',
      method: 'POST',
      path: '/devices/{id}/revoke',
      tag: 'devices',
      summary: 'Revoke a device: access from it ends at once on every replica',
      access: 'admin',
      scope: 'devices:write',
      params: z.strictObject({ id: DeviceIdParam }),
      body: z
        .strictObject({ reason: z.enum(DEVICE_REASONS).optional() })
        .meta({ id: 'DeviceRevocation' }),
      success: {
        status: 200,
        description: 'the outcome',
        schema: z.object({
          device: DeviceSummary,
          changed: z.boolean(),
          certificate_revoked: z.boolean(),
          event_published: z.boolean(),
        }),
      },
      async handle(ctx) {
        const settings = ctx.deps.deviceSettings?.() ?? DEFAULT_DEVICE_SETTINGS;
        const before = await showDevice(ctx.deps.store.devices, ctx.params.id, {
          now: ctx.now,
          settings,
        });
        const principal = ctx.principal;
        if (!principal) throw new Error('unreachable');
        const outcome = await revokeDevice(ctx.params.id, {
          devices: ctx.deps.store.devices,
          now: ctx.now,
          ...(ctx.deps.events ? { events: ctx.deps.events } : {}),
          ...(ctx.deps.deviceIssuer ? { issuer: ctx.deps.deviceIssuer } : {}),
          actor: actorOf(principal),
          ...(ctx.body?.reason ? { reason: ctx.body.reason } : {}),
        });
        const { history: _h, sources: _s, tiers: _t, unavailable: _u, ...summary } = before;
        ctx.audit({
          action: 'device.revoked',
          resource: `device:${ctx.params.id}`,
          before: summary,
          after: outcome.device,
          details: { certificate_revoked: outcome.certificate_revoked, changed: outcome.changed },
        });
        return { status: 200, body: outcome };
      },
    }),
    op({
      id: 'listCertificates',
      method: 'GET',
      path: '/certificates',
      tag: 'certificates',
      summary: 'Certificates issued by the internal CA, by serial',
      access: 'admin',
      scope: 'certificates:read',
      query: z.strictObject({
        kind: z.enum(['ca', 'server', 'device', 'workload', 'client']).optional(),
        revoked: BoolQuery,
        subject: z.string().min(1).max(2048).optional(),
        limit: LimitQuery,
        cursor: CursorQuery,
      }),
      success: {
        status: 200,
        description: 'a page of certificates',
        schema: PageOf('certificates', CertificateView),
      },
      async handle(ctx) {
        const q = ctx.query;
        const list = await ctx.deps.store.certificates.list({
          limit: q.limit ?? 100,
          ...(q.kind !== undefined ? { kind: q.kind } : {}),
          ...(q.revoked !== undefined ? { revoked: q.revoked } : {}),
          ...(q.subject !== undefined ? { subject: q.subject } : {}),
          ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        });
        return {
          status: 200,
          body: { certificates: list.map(certificateView), next_cursor: list.nextCursor },
        };
      },
    }),
    op({
      id: 'getCertificate',
      method: 'GET',
      path: '/certificates/{serial}',
      tag: 'certificates',
      summary: 'One certificate, with its PEM',
      access: 'admin',
      scope: 'certificates:read',
      params: z.strictObject({ serial: SerialParam }),
      success: {
        status: 200,
        description: 'the certificate',
        schema: CertificateView.extend({ pem: z.string().nullable() }).meta({
          id: 'CertificateDetails',
        }),
      },
      async handle(ctx) {
        const r = await ctx.deps.store.certificates.get(ctx.params.serial.toLowerCase());
        if (!r) throw notFound(`no certificate has the serial \`${ctx.params.serial}\``);
        return { status: 200, body: { ...certificateView(r), pem: r.der ? pem(r.der) : null } };
      },
    }),
    op({
      id: 'revokeCertificate',
      method: 'POST',
      path: '/certificates/{serial}/revoke',
      tag: 'certificates',
      summary: 'Revoke a certificate (the CRL is regenerated)',
      access: 'admin',
      scope: 'certificates:write',
      params: z.strictObject({ serial: SerialParam }),
      body: z
        .strictObject({ reason: z.enum(REVOCATION_REASONS).optional() })
        .meta({ id: 'CertificateRevocation' }),
      success: { status: 200, description: 'the certificate', schema: CertificateView },
      responses: [{ status: 503, description: 'the CA is not configured on this server' }],
      async handle(ctx) {
        const serial = ctx.params.serial.toLowerCase();
        const before = await ctx.deps.store.certificates.get(serial);
        if (!before) throw notFound(`no certificate has the serial \`${ctx.params.serial}\``);
        if (!ctx.deps.pki) {
          throw new AdminError('ZT_ADMIN_UNAVAILABLE', 'this server has no certificate authority', {
            help: 'run `ztgate ca revoke` on the CA host',
          });
        }
        const [after] = await ctx.deps.pki.revoke({ serial }, ctx.body?.reason ?? 'unspecified');
        const view = certificateView(after ?? before);
        ctx.audit({
          action: 'certificate.revoked',
          resource: `certificate:${serial}`,
          before: certificateView(before),
          after: view,
        });
        return { status: 200, body: view };
      },
    }),
  ];
}
