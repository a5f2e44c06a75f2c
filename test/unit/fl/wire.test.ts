// The FL channel's wire format: updates and messages round trip, anything else is a typed CodecError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CodecError } from '../../../web/src/core/codec/index.ts';
import { CHANNEL_FL, decodeFlMessage, decodeUpdate, encodeFlMessage, encodeUpdate, weightsBytes, weightsFromBytes } from '../../../web/src/core/fl/index.ts';

describe('FL wire format', () => {
  it('round-trips updates bit for bit, and weights', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.nat(),
        fc.string({ maxLength: 20 }),
        fc.nat(),
        fc.float32Array({ maxLength: 40, noNaN: true }),
        (task, round, clinic, samples, delta) => {
          const u = decodeUpdate(encodeUpdate({ task, round, clinic, samples, delta }));
          expect(u).toMatchObject({ task, round, clinic, samples });
          expect(u.delta).toEqual(delta);
          expect(weightsFromBytes(weightsBytes(delta))).toEqual(delta);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('refuses trailing bytes, a ragged float array and another blob kind with CodecError', () => {
    const bytes = encodeUpdate({ task: 't', round: 1, clinic: 'c', samples: 2, delta: Float32Array.of(1, 2) });
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeUpdate(longer)).toThrow(CodecError);
    const ragged = bytes.slice();
    ragged[ragged.length - 9] = 7; // the delta's length prefix: 8 bytes -> 7
    expect(() => decodeUpdate(ragged.subarray(0, ragged.length - 1))).toThrow(CodecError);
    const kind = bytes.slice();
    kind[0] = 2;
    expect(() => decodeUpdate(kind)).toThrow(CodecError);
  });

  it('frames messages on the FL channel; arbitrary payloads decode or fail with CodecError', () => {
    const want = encodeFlMessage({ type: 'want', digest: new Uint8Array(32).fill(9) });
    expect(want[0]).toBe(CHANNEL_FL);
    expect(decodeFlMessage(want.subarray(1))).toEqual({ type: 'want', digest: new Uint8Array(32).fill(9) });
    expect(decodeFlMessage(encodeFlMessage({ type: 'blob', bytes: Uint8Array.of(1, 2) }).subarray(1))).toEqual({ type: 'blob', bytes: Uint8Array.of(1, 2) });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
        try {
          decodeFlMessage(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { seed: 8, numRuns: 3000 },
    );
  });
});
