// Reports' canonical encoding: round trips, and arbitrary bytes fail only with CodecError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CodecError, signingBytes } from '../../../web/src/core/codec/index.ts';
import { FEATURES, REPORT_KINDS, REPORT_TAG, decodeReport, encodeReport, reportSigningBytes, type Report } from '../../../web/src/core/security/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const u = fc.maxSafeNat();
const reportArb: fc.Arbitrary<Report> = fc.record({
  kind: fc.constantFrom(...REPORT_KINDS),
  subject: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
  window: u,
  severity: u,
  reasons: fc.array(
    fc.record({ feature: fc.constantFrom(...FEATURES), value: u, baseline: u, scale: u, score: u, hard: fc.boolean() }),
    { maxLength: FEATURES.length },
  ),
});

describe('report encoding', () => {
  it('round trips', () => {
    fc.assert(
      fc.property(reportArb, (r) => {
        expect(decodeReport(encodeReport(r))).toEqual(r);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('arbitrary bytes decode or fail with CodecError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const r = decodeReport(bytes);
          expect(toHex(encodeReport(r))).toBe(toHex(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { seed: 43, numRuns: 5000 },
    );
  });

  it('rejects an unknown kind or feature', () => {
    const bytes = encodeReport({ kind: 'access', subject: 'a', window: 0, severity: 0, reasons: [] });
    const bad = bytes.slice();
    bad[0] = 9;
    expect(() => decodeReport(bad)).toThrow(CodecError);
  });

  it('refuses to encode what it would not decode', () => {
    expect(() => encodeReport({ kind: 'access', subject: 'x'.repeat(257), window: 0, severity: 0, reasons: [] })).toThrow(CodecError);
    expect(() => encodeReport({ kind: 'nope' as 'access', subject: 'x', window: 0, severity: 0, reasons: [] })).toThrow(CodecError);
  });

  it('is signed under its own domain tag', () => {
    const r: Report = { kind: 'network', subject: 'ab', window: 3, severity: 4000, reasons: [] };
    expect(REPORT_TAG).toBe('hygeia/security/report/v1');
    expect(reportSigningBytes(r)).toEqual(signingBytes(REPORT_TAG, encodeReport(r)));
  });
});
