// Reasons' canonical text form (what report transactions carry): round trips, and anything else parses to
// null rather than to a different reason.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FEATURES, parseReasonText, reasonText, sortReasons, type Reason } from '../../../web/src/core/security/index.ts';

const u = fc.maxSafeNat();
const reasonArb: fc.Arbitrary<Reason> = fc.record({ feature: fc.constantFrom(...FEATURES), value: u, baseline: u, scale: u, score: u, hard: fc.boolean() });

describe('reason text', () => {
  it('round trips', () => {
    fc.assert(
      fc.property(reasonArb, (r) => {
        expect(parseReasonText(reasonText(r))).toEqual(r);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('arbitrary strings parse to null or to the reason whose text they are', () => {
    const alphabet = fc.constantFrom(...'updateNormHigh:0123456789-x '.split(''));
    // A reason's text with one character replaced, inserted or deleted: often still a reason's text.
    const edited = fc.tuple(reasonArb, fc.nat(), alphabet, fc.constantFrom(0, 1, 2)).map(([r, at, c, op]) => {
      const t = reasonText(r);
      const i = at % (t.length + 1);
      return op === 0 ? t.slice(0, i) + c + t.slice(i + 1) : op === 1 ? t.slice(0, i) + c + t.slice(i) : t.slice(0, i) + t.slice(i + 1);
    });
    let parsed = 0;
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: alphabet, maxLength: 40 }), edited), (s) => {
        const r = parseReasonText(s);
        if (r === null) return;
        parsed++;
        expect(reasonText(r)).toBe(s);
      }),
      { seed: 43, numRuns: 5000 },
    );
    // Some strings did parse, so the property was held where it says something.
    expect(parsed).toBeGreaterThan(100);
  });

  it('refuses non-canonical forms: leading zeros, signs, unknown features, wrong arity, bad flag', () => {
    expect(parseReasonText('updateNormHigh:5:1:1:3500:0')).not.toBeNull();
    for (const bad of [
      'updateNormHigh:05:1:1:3500:0',
      'updateNormHigh:-5:1:1:3500:0',
      'nope:5:1:1:3500:0',
      'updateNormHigh:5:1:1:3500',
      'updateNormHigh:5:1:1:3500:2',
      'updateNormHigh:5:1:1:3500:0:0',
      'updateNormHigh:1e3:1:1:3500:0',
      'updateNormHigh:99999999999999999:1:1:1:0',
    ]) {
      expect(parseReasonText(bad), bad).toBeNull();
    }
    expect(() => reasonText({ feature: 'updateNormHigh', value: -1, baseline: 0, scale: 1, score: 0, hard: false })).toThrow(RangeError);
  });

  it('orders reasons strongest first, ties in feature order', () => {
    const a: Reason = { feature: 'updateDirection', value: 1, baseline: 1, scale: 1, score: 4000, hard: false };
    const b: Reason = { ...a, feature: 'updateNormHigh' };
    const c: Reason = { ...a, feature: 'updateNormLow', score: 9000 };
    expect(sortReasons([a, b, c]).map((r) => r.feature)).toEqual(['updateNormLow', 'updateNormHigh', 'updateDirection']);
  });
});
