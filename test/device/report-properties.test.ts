/** Property tests for the report validator: it accepts exactly the reports of the schema and never throws anything else. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DeviceError } from '../../src/device/errors.js';
import { MAX_REPORT_BYTES, parseReport, validateReport } from '../../src/device/posture/report.js';
import { POSTURE_ATTRIBUTES, type AttributeSpec } from '../../src/device/posture/schema.js';

const agentAttributes = Object.entries(POSTURE_ATTRIBUTES as Record<string, AttributeSpec>).filter(
  ([, s]) => s.source === 'agent',
);

function valueFor(spec: AttributeSpec): fc.Arbitrary<boolean | number | string> {
  switch (spec.type) {
    case 'boolean':
      return fc.boolean();
    case 'number':
      return spec.integer
        ? fc.integer({ min: spec.min ?? 0, max: spec.max ?? 1000 })
        : fc.double({ min: spec.min ?? 0, max: spec.max ?? 100, noNaN: true });
    case 'string':
      return spec.values
        ? fc.constantFrom(...spec.values)
        : fc
            .string({ minLength: 1, maxLength: 40, unit: 'grapheme-ascii' })
            .filter(
              (s) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f),
            );
  }
}

const attributes = fc
  .subarray(agentAttributes)
  .chain((picked) =>
    fc.tuple(...picked.map(([name, spec]) => valueFor(spec).map((v) => [name, v] as const))),
  )
  .map((pairs) => Object.fromEntries(pairs));

const validReport = fc.record({
  v: fc.constant(1),
  device_id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  sent_at: fc
    .date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
  attributes,
  unavailable: fc.constant({}),
});

const onlyDeviceErrors = (run: () => unknown): void => {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof DeviceError, `not a DeviceError: ${String(err)}`);
    assert.ok(['ZT_DEVICE_REPORT_INVALID', 'ZT_DEVICE_REQUEST_TOO_LARGE'].includes(err.code));
  }
};

describe('report validator properties', () => {
  test('every report built from the schema is accepted and round-trips through JSON', () => {
    fc.assert(
      fc.property(validReport, (report) => {
        const text = JSON.stringify(report);
        assert.deepEqual(parseReport(text), JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  test('any value of the wrong type for a typed attribute is refused', () => {
    const wrong = fc.constantFrom(...agentAttributes).chain(([name, spec]) =>
      fc
        .oneof(
          fc.boolean(),
          fc.double(),
          fc.string(),
          fc.constant(null),
          fc.array(fc.integer()),
          fc.object(),
        )
        .filter((v) => typeof v !== spec.type)
        .map((v) => ({ name, v })),
    );
    fc.assert(
      fc.property(validReport, wrong, (report, { name, v }) => {
        assert.throws(
          () => validateReport({ ...report, attributes: { ...report.attributes, [name]: v } }),
          DeviceError,
        );
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary JSON values and arbitrary text never throw anything but a device error', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => onlyDeviceErrors(() => validateReport(v))),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => onlyDeviceErrors(() => parseReport(s))),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        validReport,
        fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue(), { maxKeys: 5 }),
        (report, extra) =>
          onlyDeviceErrors(() =>
            validateReport({ ...report, attributes: { ...report.attributes, ...extra } }),
          ),
      ),
      { numRuns: 300 },
    );
  });

  test('an accepted report holds only schema attributes with their types, and fits the size limit', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ maxLength: 24 }),
          fc.oneof(fc.boolean(), fc.integer(), fc.string({ maxLength: 300 })),
          { maxKeys: 80 },
        ),
        (attrs) => {
          const text = JSON.stringify({
            v: 1,
            device_id: 'd',
            seq: 1,
            sent_at: '2026-01-01T00:00:00Z',
            attributes: attrs,
          });
          let parsed;
          try {
            parsed = parseReport(text);
          } catch (err) {
            assert.ok(err instanceof DeviceError);
            return;
          }
          assert.ok(Buffer.byteLength(text) <= MAX_REPORT_BYTES);
          for (const [name, value] of Object.entries(parsed.attributes)) {
            const spec = (POSTURE_ATTRIBUTES as Record<string, AttributeSpec>)[name];
            if (spec) {
              assert.equal(spec.source, 'agent');
              assert.equal(typeof value, spec.type);
            } else {
              assert.match(name, /^custom\.[a-z][a-z0-9_]*$/);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
