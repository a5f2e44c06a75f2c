// The Bluetooth Heart Rate Measurement characteristic (0x2A37, GATT Specification Supplement §3.113):
//   flags (uint8): bit 0 value format (0 = uint8, 1 = uint16 little-endian), bits 1–2 sensor contact
//   (0b10 supported and not detected, 0b11 supported and detected, 0b0x not supported), bit 3 energy expended
//   present (uint16, kJ), bit 4 RR intervals present (uint16 each, in 1/1024 s), bits 5–7 reserved.
// A notification shorter than its flags promise is malformed and rejected whole.

export const HEART_RATE_SERVICE = 0x180d;
export const HEART_RATE_MEASUREMENT = 0x2a37;

export interface HeartRateMeasurement {
  readonly bpm: number;
  readonly contact: 'detected' | 'not-detected' | 'unsupported';
  /** Cumulative energy expended since the last reset, kJ. */
  readonly energyExpended: number | null;
  /** Beat-to-beat intervals, milliseconds. */
  readonly rrIntervalsMs: number[];
}

export class HeartRateParseError extends Error {
  override readonly name = 'HeartRateParseError';
}

export function parseHeartRateMeasurement(view: DataView): HeartRateMeasurement {
  if (view.byteLength < 2) throw new HeartRateParseError('heart rate measurement shorter than 2 bytes');
  const flags = view.getUint8(0);
  const wide = (flags & 0x01) !== 0;
  const contactBits = (flags >> 1) & 0x03;
  const hasEnergy = (flags & 0x08) !== 0;
  const hasRr = (flags & 0x10) !== 0;
  let at = 1;
  const need = (n: number) => {
    if (at + n > view.byteLength) throw new HeartRateParseError(`heart rate measurement truncated at byte ${at}`);
  };
  need(wide ? 2 : 1);
  const bpm = wide ? view.getUint16(at, true) : view.getUint8(at);
  at += wide ? 2 : 1;
  let energyExpended: number | null = null;
  if (hasEnergy) {
    need(2);
    energyExpended = view.getUint16(at, true);
    at += 2;
  }
  const rrIntervalsMs: number[] = [];
  if (hasRr) {
    if ((view.byteLength - at) % 2 !== 0 || view.byteLength === at) throw new HeartRateParseError('heart rate measurement has a partial RR interval');
    for (; at < view.byteLength; at += 2) rrIntervalsMs.push(Math.round((view.getUint16(at, true) * 1000) / 1024));
  }
  const contact = contactBits === 0b11 ? 'detected' : contactBits === 0b10 ? 'not-detected' : 'unsupported';
  return { bpm, contact, energyExpended, rrIntervalsMs };
}
