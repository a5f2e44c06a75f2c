// The Bluetooth Heart Rate Measurement (0x2A37) parser the Wearables screen uses: every flag combination the
// GATT supplement defines, and truncated notifications rejected whole rather than read as zeros.
import { describe, expect, it } from 'vitest';
import { HeartRateParseError, parseHeartRateMeasurement } from '../../../web/src/ui/clinic/wearables/heart-rate-measurement.ts';

const view = (...bytes: number[]) => new DataView(new Uint8Array(bytes).buffer);

describe('parseHeartRateMeasurement', () => {
  it('reads an 8-bit value with no contact support', () => {
    expect(parseHeartRateMeasurement(view(0x00, 72))).toEqual({ bpm: 72, contact: 'unsupported', energyExpended: null, rrIntervalsMs: [] });
  });

  it('reads a 16-bit little-endian value (bit 0 set)', () => {
    expect(parseHeartRateMeasurement(view(0x01, 0x2c, 0x01)).bpm).toBe(300);
  });

  it('reads sensor contact from bits 1 and 2', () => {
    expect(parseHeartRateMeasurement(view(0x06, 60)).contact).toBe('detected');
    expect(parseHeartRateMeasurement(view(0x04, 60)).contact).toBe('not-detected');
    expect(parseHeartRateMeasurement(view(0x02, 60)).contact).toBe('unsupported');
  });

  it('reads energy expended (bit 3) before the RR intervals (bit 4), RR in 1/1024 s', () => {
    const m = parseHeartRateMeasurement(view(0x18 | 0x01, 0x48, 0x00, 0x10, 0x27, 0x00, 0x04, 0x00, 0x02));
    expect(m.bpm).toBe(72);
    expect(m.energyExpended).toBe(10000);
    expect(m.rrIntervalsMs).toEqual([1000, 500]);
  });

  it('ignores the reserved bits 5 to 7', () => {
    expect(parseHeartRateMeasurement(view(0xe0, 65)).bpm).toBe(65);
  });

  it('rejects notifications shorter than their flags promise', () => {
    expect(() => parseHeartRateMeasurement(view(0x00))).toThrow(HeartRateParseError);
    expect(() => parseHeartRateMeasurement(view(0x01, 0x48))).toThrow(HeartRateParseError);
    expect(() => parseHeartRateMeasurement(view(0x08, 72, 0x10))).toThrow(HeartRateParseError);
    expect(() => parseHeartRateMeasurement(view(0x10, 72, 0x00, 0x04, 0x00))).toThrow(HeartRateParseError);
    expect(() => parseHeartRateMeasurement(view(0x10, 72))).toThrow(HeartRateParseError);
  });
});
