// Canonical JSON: equal values give equal text whatever the member order; values with no JSON form are a
// typed error, not a silent "null".
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalBytes, canonicalJson } from '../../../web/src/core/codec/index.ts';

describe('canonicalJson', () => {
  it('sorts members at every depth, drops undefined members, writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: true, y: null }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[1,{"y":null,"z":true}]},"b":1}');
    expect(canonicalJson({ b: 2, a: 1 })).toBe(canonicalJson({ a: 1, b: 2 }));
    expect(canonicalJson([undefined, 1.5, -0, 1e21])).toBe('[null,1.5,0,1e+21]');
    expect(new TextDecoder().decode(canonicalBytes({ é: 'ü' }))).toBe('{"é":"ü"}');
  });

  it('refuses non-finite numbers, non-JSON values and nesting past the bound with a typed reason', () => {
    const reason = (v: unknown): string | undefined => {
      try {
        canonicalJson(v);
        return undefined;
      } catch (e) {
        return e instanceof CanonicalJsonError ? e.reason : 'other';
      }
    };
    expect(reason({ x: Number.NaN })).toBe('non-finite');
    expect(reason([Infinity])).toBe('non-finite');
    expect(reason({ f: () => 1 })).toBe('not-json');
    expect(reason(10n)).toBe('not-json');
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(reason(deep)).toBe('too-deep');
  });
});
